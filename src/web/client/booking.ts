/**
 * #/book (student): book a mentoring session with one's mentor. The
 * mentor's free slots are shown in the student's own zone, a week at a time
 * (booking-week.ts), opening on the week of the next free slot (which is
 * offered first). The same page lists the student's booked sessions with Move
 * and Cancel (booking-sessions.ts), each stating the policy ("counts as late")
 * before it applies.
 */
import { DateTime } from 'luxon';
import { getJson, type User } from './api.ts';
import { bookedSessions, moveMode, type Policy } from './booking-sessions.ts';
import { confirmStep } from './booking-confirm.ts';
import { weekOfSlots, type Slot } from './booking-week.ts';
import { clear, h } from './dom.ts';
import { locale, t } from './i18n.ts';
import { formatDateTime, formatTime, describeZone } from './time.ts';
import { backLink, loading, statusLine } from './ui.ts';

interface Enrollment {
  projects: Array<{ id: string; title: string; position: number; state: string }>;
}

/** Projects a session can be about: the ones being worked on. */
const BOOKABLE = new Set(['in_progress', 'submitted', 'needs_revision']);
const SEARCH_DAYS = 28;

export const slotsUrl = (hostId: string, from: DateTime, to: DateTime, zone: string) =>
  `/hosts/${hostId}/slots?from=${encodeURIComponent(from.toUTC().toISO()!)}&to=${encodeURIComponent(to.toUTC().toISO()!)}&timeZone=${encodeURIComponent(zone)}`;

/**
 * Every slot of a search: an answer holds at most SLOT_SEARCH_MAX_SLOTS and
 * names the start to continue `after` (a week at a 5-minute step is two pages).
 */
export async function allSlots<S extends { startsAt: string }>(url: string): Promise<S[]> {
  const slots: S[] = [];
  let after: string | null = null;
  for (let page = 0; page < 20; page++) {
    const res: { slots: S[]; next: string | null } = await getJson(after === null ? url : `${url}&after=${encodeURIComponent(after)}`);
    slots.push(...res.slots);
    after = res.next;
    if (after === null) break;
  }
  return slots;
}

/** A day heading in the viewer's zone and language. */
export const dayLabel = (d: DateTime) => new Intl.DateTimeFormat(locale(), { weekday: 'long', day: 'numeric', month: 'long', timeZone: d.zoneName ?? undefined }).format(d.toJSDate());

/** Who the sessions are with, in which zone, and the projects a session can be about (or that there is none). */
function showIntro(intro: HTMLElement, projectSelect: HTMLSelectElement, mentor: User, enrollments: Enrollment[], zone: string): void {
  clear(intro);
  intro.append(h('p', {}, t('book.with', { name: mentor.name })), h('p', { class: 'muted', id: 'book-zone' }, t('common.zone', { zone: describeZone(zone) })));
  const open = enrollments.flatMap((e) => e.projects).filter((pr) => BOOKABLE.has(pr.state));
  for (const pr of open) projectSelect.append(h('option', { value: pr.id }, pr.title));
  if (open.length === 0) intro.append(h('p', { class: 'error' }, t('book.noProject')));
}

/** The next free slot of the host, offered first (`#book-next-slot`); returns it. */
async function showNextSlot(box: HTMLElement, hostId: string, zone: string, slotButton: (slot: Slot, label: string, id: string) => HTMLButtonElement): Promise<Slot | undefined> {
  const now = DateTime.now().setZone(zone);
  // Only the first slot is shown: the first page is enough.
  const { slots } = await getJson<{ slots: Slot[] }>(slotsUrl(hostId, now, now.plus({ days: SEARCH_DAYS }), zone));
  clear(box);
  const first = slots[0];
  if (first) box.append(h('p', {}, t('book.next', { date: formatDateTime(first.startsAt, zone) }), ' ', slotButton(first, t('book.pick', { time: formatTime(first.startsAt, zone) }), 'book-next-slot')));
  else box.append(h('p', { class: 'muted' }, t('book.noneNext')));
  return first;
}

export function bookingView(user: User): HTMLElement {
  const zone = user.timeZone;
  const status = statusLine('book-status');
  const intro = h('div', {}, loading());
  const projectSelect = h('select', { id: 'book-project', name: 'projectId' });
  const nextBox = h('div', { id: 'book-next', class: 'card next-slot' });
  const move = moveMode(zone);

  let mentor: User | undefined;
  let policy: Policy = { mentoringMinutes: 45, lateCancelNoticeHours: 24 };

  const confirm = confirmStep(zone, {
    mentorName: () => mentor?.name ?? '',
    project: () => ({ id: projectSelect.value, title: projectSelect.selectedOptions[0]?.textContent ?? '' }),
    policy: () => policy,
    onDone(moved, when) {
      move.end();
      status.info(moved ? t('book.moved', { date: when }) : t('book.booked', { date: when }));
      void refresh();
    },
    onDismiss: () => status.clear(),
    onError: (err) => status.fail(err),
  });
  const slotButton = (slot: Slot, label: string, id?: string): HTMLButtonElement =>
    h('button', { type: 'button', class: 'slot', 'data-starts-at': slot.startsAt, ...(id ? { id } : {}), onclick: () => confirm.ask(slot, move.moving()) }, label);
  const week = weekOfSlots(zone, dayLabel, {
    slots: (from, to) => allSlots<Slot>(slotsUrl(mentor!.id, from, to, zone)),
    button: (slot, label) => slotButton(slot, label),
    onError: (err) => status.fail(err),
  });
  const mine = bookedSessions(zone, {
    policy: () => policy,
    onMove(session) {
      move.start(session, policy);
      week.title.focus();
    },
    onCancelled: (late) => (status.info(late ? t('book.cancelledLate') : t('book.cancelled')), void refresh()),
    onError: (err) => status.fail(err),
  });

  const loadNext = () => showNextSlot(nextBox, mentor!.id, zone, slotButton);

  async function refresh(): Promise<void> {
    await Promise.all([loadNext(), week.load(), mine.load()]).catch((err: unknown) => status.fail(err));
  }

  void (async () => {
    try {
      const [m, enrollments, p] = await Promise.all([
        getJson<User>(`/students/${user.id}/mentor`),
        getJson<Enrollment[]>(`/students/${user.id}/enrollments`),
        getJson<Policy>('/scheduling/policy'),
      ]);
      mentor = m;
      policy = p;
      showIntro(intro, projectSelect, m, enrollments, zone);
      const first = await loadNext();
      await Promise.all([first ? week.showWeekOf(DateTime.fromISO(first.startsAt)) : week.load(), mine.load()]);
    } catch (err) {
      clear(intro);
      status.fail(err);
    }
  })();

  return h(
    'div',
    { class: 'booking-page' },
    h('h1', { id: 'book-title' }, t('book.title')),
    intro,
    h('p', {}, h('label', { for: 'book-project' }, t('book.project')), ' ', projectSelect),
    nextBox,
    move.element,
    week.nav,
    week.element,
    confirm.element,
    status.element,
    h('h2', {}, t('book.mine')),
    mine.element,
    backLink(),
  );
}
