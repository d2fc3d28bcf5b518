import { Type } from 'typebox';
import { IsoDateTime, Uuid } from '../shared/schemas.ts';
import { WEBHOOK_EVENTS } from './webhooks.ts';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(s: T) => Type.Union([s, Type.Null()]);

export const CodeReviewCommentSchema = Type.Object(
  {
    file: Type.Optional(Type.String({ maxLength: 500 })),
    line: Type.Optional(Type.Integer({ minimum: 1 })),
    body: Type.String({ minLength: 1, maxLength: 5000 }),
    reviewCommentId: Type.Optional(Uuid),
  },
  { additionalProperties: false },
);

export const EvaluationBodySchema = Type.Object(
  {
    outcome: Type.Union([Type.Literal('validated'), Type.Literal('needs_revision')]),
    feedback: Type.String({ minLength: 1, maxLength: 20_000 }),
    codeReviewComments: Type.Optional(Type.Array(CodeReviewCommentSchema, { maxItems: 200 })),
    attachSessionReview: Type.Optional(Type.Boolean({ description: "Attach the comments of the session's live code review" })),
  },
  { additionalProperties: false },
);

export const EvaluationSchema = Type.Object({
  id: Uuid,
  sessionId: Uuid,
  projectId: Uuid,
  mentorId: Uuid,
  outcome: Type.String(),
  feedback: Type.String(),
  codeReviewComments: Type.Array(CodeReviewCommentSchema),
  createdAt: IsoDateTime,
});

export const MarkOutSchema = Type.Object({ block: Type.String(), mark: Type.Number() });

export const VerdictSchema = Type.Object({
  id: Uuid,
  outcome: Type.Union([Type.Literal('pass'), Type.Literal('fail')]),
  marks: Type.Array(MarkOutSchema),
  comment: Type.String(),
  proposedBy: Uuid,
  status: Type.Union([Type.Literal('proposed'), Type.Literal('final')]),
  createdAt: IsoDateTime,
  confirmedBy: Type.Array(Uuid),
});

export const PhaseSchema = Type.Union([Type.Literal('lobby'), Type.Literal('presentation'), Type.Literal('questions'), Type.Literal('deliberation'), Type.Literal('verdict'), Type.Literal('completed')]);

export const DefenceStateSchema = Type.Object({
  sessionId: Uuid,
  candidateId: Uuid,
  phase: PhaseSchema,
  candidateView: Type.String(),
  candidateIsolated: Type.Boolean(),
  recording: Type.Boolean(),
  phaseStartedAt: Nullable(IsoDateTime),
  phaseEndsAt: Nullable(IsoDateTime),
  timeline: Type.Array(Type.Object({ phase: Type.String(), minutes: Type.Integer() })),
  jury: Type.Array(Type.Object({ userId: Uuid, name: Type.String() })),
  competenceBlocks: Type.Array(Type.Object({ code: Type.String(), title: Type.String() })),
  verdict: Nullable(VerdictSchema),
  outcome: Nullable(Type.Union([Type.Literal('pass'), Type.Literal('fail')])),
  completedAt: Nullable(IsoDateTime),
  retakeAllowedFrom: Nullable(IsoDateTime),
  diplomaId: Nullable(Uuid),
  version: Type.Integer(),
  present: Type.Optional(Type.Array(Uuid)),
});

export const DiplomaSchema = Type.Object({
  id: Uuid,
  reference: Type.String(),
  enrollmentId: Uuid,
  studentId: Uuid,
  pathId: Uuid,
  pathTitle: Type.String(),
  eqfLevel: Type.Integer(),
  issuedOn: Type.String({ format: 'date' }),
  jury: Type.Array(Type.Object({ userId: Uuid, name: Type.String() })),
  defenceSessionId: Uuid,
});

export const ProgressSchema = Type.Object({
  studentId: Uuid,
  enrollment: Type.Object({ id: Uuid, status: Type.String(), tier: Type.String(), mentorId: Nullable(Uuid), startedAt: IsoDateTime }),
  path: Type.Object({ id: Uuid, slug: Type.String(), title: Type.String(), eqfLevel: Type.Integer(), durationMonths: Type.Integer() }),
  projects: Type.Array(Type.Object({ id: Uuid, position: Type.Integer(), title: Type.String(), state: Type.String(), updatedAt: IsoDateTime })),
  validatedCount: Type.Integer(),
  sessions: Type.Array(
    Type.Object({
      id: Uuid,
      kind: Type.String(),
      projectId: Nullable(Uuid),
      startsAt: IsoDateTime,
      endsAt: IsoDateTime,
      status: Type.String(),
      attendance: Type.String({ description: 'present | late | left_early | no_show (finalized record), else cancelled | upcoming | in_progress | took_place' }),
    }),
  ),
  evaluations: Type.Array(EvaluationSchema),
  defences: Type.Array(DefenceStateSchema),
  diploma: Nullable(DiplomaSchema),
});

export const AuditSchema = Type.Array(
  Type.Object({
    id: Type.String(),
    entity: Type.String(),
    entityId: Type.String(),
    action: Type.String(),
    from: Nullable(Type.String()),
    to: Nullable(Type.String()),
    actorId: Nullable(Uuid),
    data: Type.Record(Type.String(), Type.Unknown()),
    at: IsoDateTime,
  }),
);

export const WebhookEventSchema = Type.Union([
  Type.Literal('session.booked'),
  Type.Literal('session.rescheduled'),
  Type.Literal('session.cancelled'),
  Type.Literal('session.completed'),
  Type.Literal('attendance.finalized'),
  Type.Literal('recording.ready'),
  Type.Literal('project.validated'),
  Type.Literal('defence.completed'),
  Type.Literal('diploma.issued'),
]);
// Kept in step with the list the code dispatches.
void (WEBHOOK_EVENTS satisfies ReadonlyArray<(typeof WebhookEventSchema)['anyOf'][number]['const']>);

export const SubscriptionSchema = Type.Object({
  id: Uuid,
  url: Type.String(),
  events: Type.Array(Type.String()),
  description: Type.String(),
  active: Type.Boolean(),
  createdAt: IsoDateTime,
});

export const DeliverySchema = Type.Object({
  id: Uuid,
  subscriptionId: Uuid,
  event: Type.String(),
  payload: Type.Unknown(),
  status: Type.String(),
  attempts: Type.Integer(),
  lastStatusCode: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  createdAt: IsoDateTime,
  deliveredAt: Nullable(IsoDateTime),
  deadAt: Nullable(IsoDateTime),
  log: Type.Array(Type.Object({ attempt: Type.Integer(), statusCode: Nullable(Type.Integer()), error: Nullable(Type.String()), durationMs: Type.Integer(), at: IsoDateTime })),
});
