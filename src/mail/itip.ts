import ical, { ICalAttendeeRole, ICalAttendeeStatus, ICalCalendarMethod, ICalEventStatus } from 'ical-generator';
import { eventIdentity, icsText, PRODUCT_ID, type SessionDetail } from '../scheduling/index.ts';

/**
 * The iCalendar object of an e-mailed invitation (iTIP, RFC 5546): METHOD
 * REQUEST for a new or moved session, CANCEL for a cancelled one. UID and
 * SEQUENCE are the feed's own (scheduling/calendar.ts), so a calendar that got
 * the invitation by mail and also subscribes to the feed sees one event, and
 * applies each update because its SEQUENCE is higher.
 */
export interface ItipPerson {
  name: string;
  email: string;
}

export type ItipMethod = 'REQUEST' | 'CANCEL';

export function renderItip(p: {
  method: ItipMethod;
  session: SessionDetail;
  organizer: ItipPerson;
  attendees: ItipPerson[];
  joinUrl: string;
}): string {
  const cal = ical({ prodId: PRODUCT_ID, method: p.method === 'CANCEL' ? ICalCalendarMethod.CANCEL : ICalCalendarMethod.REQUEST });
  const s = p.session;
  cal.createEvent({
    ...eventIdentity(s),
    status: p.method === 'CANCEL' ? ICalEventStatus.CANCELLED : ICalEventStatus.CONFIRMED,
    description: `Join: ${p.joinUrl}`,
    url: p.joinUrl,
    location: p.joinUrl,
    organizer: { name: p.organizer.name, email: p.organizer.email },
    attendees: p.attendees.map((a) => ({
      name: a.name,
      email: a.email,
      role: ICalAttendeeRole.REQ,
      status: ICalAttendeeStatus.ACCEPTED,
    })),
  });
  return icsText(cal);
}
