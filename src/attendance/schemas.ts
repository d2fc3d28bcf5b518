import { Type, type Static } from 'typebox';
import { IsoDateTime, Nullable, Uuid } from '../shared/schemas.ts';

/** Request and answer schemas of attendance's routes (routes.ts). */

/** A participant's part in a session (an observer is a coordinator who joined). */
export const ParticipantRoleSchema = Type.Union([Type.Literal('student'), Type.Literal('mentor'), Type.Literal('jury'), Type.Literal('observer')]);
export const StatusSchema = Type.Union([
  Type.Literal('present'),
  Type.Literal('late'),
  Type.Literal('left_early'),
  Type.Literal('no_show'),
  Type.Literal('pending'),
]);
export const FinalStatusSchema = Type.Union([Type.Literal('present'), Type.Literal('late'), Type.Literal('left_early'), Type.Literal('no_show')]);
export const QualityLevelSchema = Type.Union([Type.Literal('excellent'), Type.Literal('good'), Type.Literal('poor'), Type.Literal('lost')]);
export const CorrectableSchema = Type.Object({ status: StatusSchema, attendedSeconds: Type.Integer() });
export const ParticipantAttendanceSchema = Type.Object({
  userId: Uuid,
  name: Type.String(),
  email: Type.String(),
  role: ParticipantRoleSchema,
  status: StatusSchema,
  late: Type.Boolean(),
  leftEarly: Type.Boolean(),
  presentNow: Type.Boolean(),
  firstJoinAt: Nullable(IsoDateTime),
  lastLeaveAt: Nullable(IsoDateTime),
  latenessSeconds: Nullable(Type.Integer()),
  attendedSeconds: Type.Integer(),
  networkGaps: Type.Integer(),
  networkGapSeconds: Type.Integer(),
  micSeconds: Type.Integer(),
  cameraSeconds: Type.Integer(),
  screenSeconds: Type.Integer(),
  transportFailures: Type.Integer(),
  intervals: Type.Array(Type.Object({ from: IsoDateTime, to: Nullable(IsoDateTime), networkGaps: Type.Integer(), networkGapSeconds: Type.Integer() })),
  quality: Type.Object(
    {
      seconds: Type.Object({ excellent: Type.Integer(), good: Type.Integer(), poor: Type.Integer(), lost: Type.Integer() }),
      periods: Type.Array(Type.Object({ level: QualityLevelSchema, from: IsoDateTime, to: IsoDateTime })),
    },
    { description: 'Connection quality while present: seconds per level, and the periods below excellent' },
  ),
  noShowMarkedAt: Nullable(IsoDateTime),
  presenceEvents: Type.Integer(),
  corrected: Type.Boolean(),
  corrections: Type.Array(Type.Object({ at: IsoDateTime, by: Uuid, reason: Type.String(), before: CorrectableSchema, after: CorrectableSchema })),
});
export const SessionAttendanceSchema = Type.Object({
  sessionId: Uuid,
  kind: Type.Union([Type.Literal('mentoring'), Type.Literal('defence')]),
  sessionStatus: Type.Union([Type.Literal('scheduled'), Type.Literal('cancelled'), Type.Literal('completed')]),
  startsAt: IsoDateTime,
  endsAt: IsoDateTime,
  state: Type.Union([Type.Literal('live'), Type.Literal('finalized')]),
  finalizedAt: Nullable(IsoDateTime),
  noShowCheckedAt: Nullable(IsoDateTime),
  participants: Type.Array(ParticipantAttendanceSchema),
});
export type SessionAttendanceJson = Static<typeof SessionAttendanceSchema>;

export const PresenceSchema = Type.Array(
  Type.Object({
    userId: Uuid,
    name: Type.String(),
    role: ParticipantRoleSchema,
    since: IsoDateTime,
    connected: Type.Boolean(),
  }),
);

export const CorrectionBodySchema = Type.Object(
  {
    userId: Uuid,
    status: Type.Optional(FinalStatusSchema),
    attendedSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
    reason: Type.String({ minLength: 3, maxLength: 2000 }),
  },
  { additionalProperties: false },
);
export type CorrectionBody = Static<typeof CorrectionBodySchema>;

export const AttendanceRecordSchema = Type.Object({
  userId: Uuid,
  noShows: Type.Integer(),
  lateCancellations: Type.Integer(),
  sessions: Type.Array(
    Type.Object({
      sessionId: Uuid,
      startsAt: IsoDateTime,
      kind: Type.Union([Type.Literal('mentoring'), Type.Literal('defence')]),
      status: Type.Union([StatusSchema, Type.Literal('cancelled')]),
    }),
  ),
});
export type AttendanceRecordJson = Static<typeof AttendanceRecordSchema>;

export const ExportQuery = Type.Object({ pathId: Uuid, from: IsoDateTime, to: IsoDateTime, cohort: Type.Optional(Type.String({ pattern: '^\\d{4}-(0[1-9]|1[0-2])$' })) });
export type ExportQuery = Static<typeof ExportQuery>;
