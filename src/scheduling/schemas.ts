import { Type, type Static } from 'typebox';
import { IsoDateTime, Uuid } from '../shared/schemas.ts';

/** Request and answer schemas of scheduling's routes (routes.ts). */

export const HM = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$', description: 'HH:mm wall-clock time; 24:00 ends at midnight' });
export const WindowSchema = Type.Object({ start: HM, end: HM }, { additionalProperties: false });
export const WeeklyRuleSchema = Type.Object({ weekday: Type.Integer({ minimum: 1, maximum: 7, description: 'ISO weekday, 1 = Monday' }), start: HM, end: HM }, { additionalProperties: false });
export const OverrideSchema = Type.Object(
  { date: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }), intervals: Type.Array(WindowSchema, { maxItems: 12, description: 'Empty: unavailable that day' }) },
  { additionalProperties: false },
);
export const AvailabilitySchema = Type.Object({
  hostId: Uuid,
  timeZone: Type.String(),
  bufferMinutes: Type.Integer(),
  minimumNoticeMinutes: Type.Integer(),
  horizonDays: Type.Integer(),
  weekly: Type.Array(WeeklyRuleSchema),
  overrides: Type.Array(OverrideSchema),
});
export const LocalSchema = Type.Object({ timeZone: Type.String(), startsAt: Type.String(), endsAt: Type.String(), label: Type.String() });
export const SlotsSchema = Type.Object({
  hostIds: Type.Array(Uuid),
  durationMinutes: Type.Integer(),
  viewerTimeZone: Type.String(),
  slots: Type.Array(
    Type.Object({
      startsAt: IsoDateTime,
      endsAt: IsoDateTime,
      local: LocalSchema,
      hosts: Type.Array(Type.Object({ userId: Uuid, timeZone: Type.String(), startsAt: Type.String(), endsAt: Type.String() })),
    }),
  ),
  next: Type.Union([IsoDateTime, Type.Null()], { description: 'More slots follow: ask again with `after` set to this' }),
});
export const After = Type.Optional(Type.String({ maxLength: 40, description: 'Cursor: only slots starting after this instant (the `next` of the previous answer)' }));
export const ParticipantSchema = Type.Object({ userId: Uuid, name: Type.String(), role: Type.String(), timeZone: Type.String() });
export const SessionSchema = Type.Object({
  id: Uuid,
  kind: Type.String(),
  status: Type.String(),
  startsAt: IsoDateTime,
  endsAt: IsoDateTime,
  durationMinutes: Type.Integer(),
  sequence: Type.Integer(),
  updatedAt: IsoDateTime,
  projectId: Type.Union([Uuid, Type.Null()]),
  projectTitle: Type.Union([Type.String(), Type.Null()]),
  pathTitle: Type.String(),
  hostId: Uuid,
  enrollmentId: Uuid,
  studentId: Uuid,
  createdBy: Type.Union([Uuid, Type.Null()]),
  joinUrl: Type.String(),
  icsUrl: Type.String(),
  local: LocalSchema,
  participants: Type.Array(ParticipantSchema),
  cancellation: Type.Union([Type.Object({ at: IsoDateTime, by: Type.Union([Uuid, Type.Null()]), late: Type.Boolean(), reason: Type.String() }), Type.Null()]),
  late: Type.Optional(Type.Boolean()),
});
export const PersonSchema = Type.Object({ userId: Uuid, name: Type.String(), timeZone: Type.String() });
export const DefenceItemSchema = Type.Object({
  id: Uuid,
  startsAt: IsoDateTime,
  endsAt: IsoDateTime,
  durationMinutes: Type.Integer(),
  local: LocalSchema,
  pathTitle: Type.String(),
  candidate: PersonSchema,
  jury: Type.Array(PersonSchema),
  roomOpensAt: IsoDateTime,
  roomClosesAt: IsoDateTime,
  roomOpen: Type.Boolean({ description: 'The room takes participants now' }),
  joinUrl: Type.String(),
});
export const ChangeSchema = Type.Object({
  id: Type.Integer(),
  change: Type.String(),
  changedBy: Type.Union([Uuid, Type.Null()]),
  changedByRole: Type.Union([Type.String(), Type.Null()]),
  oldStartsAt: Type.Union([IsoDateTime, Type.Null()]),
  oldEndsAt: Type.Union([IsoDateTime, Type.Null()]),
  newStartsAt: Type.Union([IsoDateTime, Type.Null()]),
  newEndsAt: Type.Union([IsoDateTime, Type.Null()]),
  late: Type.Boolean(),
  reason: Type.String(),
  sequence: Type.Integer(),
  at: IsoDateTime,
});
export const TimeOffSchema = Type.Object({ id: Uuid, startsAt: IsoDateTime, endsAt: IsoDateTime, reason: Type.String() });
export const TimeOffListSchema = Type.Array(TimeOffSchema);
export const HistorySchema = Type.Array(ChangeSchema);
export const HostParams = Type.Object({ hostId: Uuid });
export const SessionParams = Type.Object({ sessionId: Type.String({ maxLength: 64 }) });
export const TimeZoneQuery = Type.Optional(Type.String({ maxLength: 64, description: "Viewer's IANA zone for the local rendering (default: the caller's)" }));

/** An availability as PUT replaces it (wall-clock rules in `timeZone`). */
const availabilityBodyProperties = {
  timeZone: Type.String({ maxLength: 64 }),
  bufferMinutes: Type.Optional(Type.Integer({ minimum: 0, maximum: 240 })),
  minimumNoticeMinutes: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 20160 }), Type.Null()])),
  horizonDays: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 366 }), Type.Null()])),
  weekly: Type.Array(WeeklyRuleSchema, { maxItems: 100 }),
  overrides: Type.Optional(Type.Array(OverrideSchema, { maxItems: 400 })),
};
export const AvailabilityBodySchema = Type.Object(availabilityBodyProperties, { additionalProperties: false });
export type AvailabilityBody = Static<typeof AvailabilityBodySchema>;
/** The same draft plus the cursor of a long answer. */
export const AvailabilityPreviewBodySchema = Type.Object({ ...availabilityBodyProperties, after: After }, { additionalProperties: false });
export type AvailabilityPreviewBody = Static<typeof AvailabilityPreviewBodySchema>;
export const AvailabilityPreviewQuery = Type.Object({
  days: Type.Optional(Type.Integer({ minimum: 1, maximum: 62, description: 'How many days from now (default 14; at most SLOT_SEARCH_MAX_DAYS)' })),
  timeZone: TimeZoneQuery,
});

export const TimeOffBodySchema = Type.Object({ startsAt: Type.String(), endsAt: Type.String(), reason: Type.Optional(Type.String({ maxLength: 200 })) }, { additionalProperties: false });
export type TimeOffBody = Static<typeof TimeOffBodySchema>;
export const TimeOffParams = Type.Object({ hostId: Uuid, id: Uuid });

export const PolicySchema = Type.Object({ mentoringMinutes: Type.Integer(), lateCancelNoticeHours: Type.Integer(), defenceDefaultMinutes: Type.Integer() });

export const MentoringSlotsQuery = Type.Object({ from: Type.String(), to: Type.String(), after: After, timeZone: TimeZoneQuery });
export type MentoringSlotsQuery = Static<typeof MentoringSlotsQuery>;
export const DefenceSlotsQuery = Type.Object({
  studentId: Uuid,
  juryIds: Type.Array(Uuid, { minItems: 2, maxItems: 3 }),
  from: Type.String(),
  to: Type.String(),
  after: After,
  durationMinutes: Type.Optional(Type.Integer()),
  timeZone: TimeZoneQuery,
});
export type DefenceSlotsQuery = Static<typeof DefenceSlotsQuery>;

export const BookMentoringBodySchema = Type.Object({ startsAt: Type.String(), projectId: Uuid }, { additionalProperties: false });
export type BookMentoringBody = Static<typeof BookMentoringBodySchema>;
export const ScheduleDefenceBodySchema = Type.Object(
  { studentId: Uuid, juryIds: Type.Array(Uuid, { minItems: 2, maxItems: 3 }), startsAt: Type.String(), durationMinutes: Type.Optional(Type.Integer()) },
  { additionalProperties: false },
);
export type ScheduleDefenceBody = Static<typeof ScheduleDefenceBodySchema>;
export const RescheduleBodySchema = Type.Object({ startsAt: Type.String(), durationMinutes: Type.Optional(Type.Integer()), reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false });
export type RescheduleBody = Static<typeof RescheduleBodySchema>;
export const CancelBodySchema = Type.Optional(Type.Object({ reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false }));
export type CancelBody = Static<typeof CancelBodySchema>;

export const TimeZoneOnlyQuery = Type.Object({ timeZone: TimeZoneQuery });
export const UpcomingQuery = Type.Object({ includeCancelled: Type.Optional(Type.Boolean()), timeZone: TimeZoneQuery });
export const UpcomingSessionsSchema = Type.Object({ timeZone: Type.String(), sessions: Type.Array(SessionSchema) });
export const UpcomingDefencesSchema = Type.Object({ timeZone: Type.String(), defences: Type.Array(DefenceItemSchema) });
export type SessionJson = Static<typeof SessionSchema>;
export type ChangeJson = Static<typeof ChangeSchema>;

export const FeedUrlSchema = Type.Object({ url: Type.String() });
export const FeedFileParams = Type.Object({ file: Type.String({ maxLength: 80 }) });

export const NotificationsQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })) });
export const NotificationSchema = Type.Object({
  id: Uuid,
  kind: Type.String(),
  sessionId: Type.Union([Uuid, Type.Null()]),
  payload: Type.Record(Type.String(), Type.Unknown()),
  createdAt: IsoDateTime,
  readAt: Type.Union([IsoDateTime, Type.Null()]),
});
export const NotificationListSchema = Type.Array(NotificationSchema);
export type NotificationJson = Static<typeof NotificationSchema>;
export const IdParams = Type.Object({ id: Uuid });
