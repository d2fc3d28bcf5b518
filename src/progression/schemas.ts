import { Type, type Static } from 'typebox';
import { IsoDateTime, Nullable, Uuid } from '../shared/schemas.ts';
import { WEBHOOK_EVENTS } from './webhooks.ts';

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

// ------------------------------------------------------------ requests and small answers of routes.ts
export type EvaluationBody = Static<typeof EvaluationBodySchema>;
export const ProjectParams = Type.Object({ studentId: Uuid, projectId: Uuid });
export const SubmitBodySchema = Type.Optional(Type.Object({ note: Type.Optional(Type.String({ maxLength: 5000 })) }, { additionalProperties: false }));
export type SubmitBody = Static<typeof SubmitBodySchema>;
export const SubmittedSchema = Type.Object({ projectId: Uuid, state: Type.Literal('submitted') });

export const AdvanceBodySchema = Type.Object({ to: PhaseSchema }, { additionalProperties: false });
export type AdvanceBody = Static<typeof AdvanceBodySchema>;
export const VerdictParams = Type.Object({ sessionId: Uuid, verdictId: Uuid });
export const ConfirmationSchema = Type.Object({
  verdict: VerdictSchema,
  completed: Type.Union([Type.Object({ outcome: Type.String(), studentId: Uuid, enrollmentId: Uuid, diplomaId: Type.Optional(Uuid) }), Type.Null()]),
});
export type ConfirmationJson = Static<typeof ConfirmationSchema>;

export const SubscriptionParams = Type.Object({ subscriptionId: Uuid });
export const SubscriptionBodySchema = Type.Object(
  {
    url: Type.String({ format: 'uri', maxLength: 2000 }),
    events: Type.Array(WebhookEventSchema, { minItems: 1 }),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    secret: Type.Optional(Type.String({ minLength: 16, maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type SubscriptionBody = Static<typeof SubscriptionBodySchema>;
/** A new subscription, with its secret (shown once). */
export const CreatedSubscriptionSchema = Type.Object({ ...SubscriptionSchema.properties, secret: Type.String() });
export const SubscriptionListSchema = Type.Array(SubscriptionSchema);
export const SubscriptionChangeBodySchema = Type.Object(
  { url: Type.Optional(Type.String({ format: 'uri', maxLength: 2000 })), events: Type.Optional(Type.Array(WebhookEventSchema, { minItems: 1 })), active: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export type SubscriptionChangeBody = Static<typeof SubscriptionChangeBodySchema>;
export const DeliveriesQuery = Type.Object({ status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('retrying'), Type.Literal('delivered'), Type.Literal('dead_letter')])) });
export const DeliveryListSchema = Type.Array(DeliverySchema);
export const DeliveryParams = Type.Object({ deliveryId: Uuid });
export const QueuedSchema = Type.Object({ queued: Type.Boolean() });
