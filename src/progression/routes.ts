import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ROLES, viewerOf } from '../auth/index.ts';
import { assertCanViewStudent, currentEnrollment } from '../school/index.ts';
import { SessionIdParams, StudentIdParams } from '../shared/schemas.ts';
import { auditOfEnrollmentFor } from './audit.ts';
import { DefenceFlow, VerdictInputSchema } from './defence-flow.ts';
import { defenceRoleOf, defenceState, ensureDefence, getDefenceSession } from './defences.ts';
import { recordEvaluation, submitProject } from './evaluations.ts';
import { studentProgress } from './progress.ts';
import {
  AdvanceBodySchema,
  AuditSchema,
  ConfirmationSchema,
  CreatedSubscriptionSchema,
  DefenceStateSchema,
  DeliveriesQuery,
  DeliveryListSchema,
  DeliveryParams,
  EvaluationBodySchema,
  EvaluationSchema,
  ProgressSchema,
  ProjectParams,
  QueuedSchema,
  SubmitBodySchema,
  SubmittedSchema,
  SubscriptionBodySchema,
  SubscriptionChangeBodySchema,
  SubscriptionListSchema,
  SubscriptionParams,
  SubscriptionSchema,
  VerdictParams,
  VerdictSchema,
} from './schemas.ts';
import { createSubscription, deleteSubscription, deliveriesOf, listSubscriptions, updateSubscription, type Webhooks } from './webhooks.ts';

type Isoed<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };
const toIso = <T extends object>(o: T): Isoed<T> => {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = v instanceof Date ? v.toISOString() : v;
  return out as Isoed<T>;
};

type Routes = FastifyPluginAsyncTypebox<{ flow: DefenceFlow; webhooks: Webhooks }>;

/**
 * Evaluations, progress, defences and webhooks: one small plugin per
 * resource, registered in this order (the OpenAPI document lists paths in
 * registration order).
 */
export const progressionRoutes: Routes = async (app, { flow, webhooks }) => {
  await app.register(evaluationRoutes, { flow, webhooks });
  await app.register(progressRoutes, { flow, webhooks });
  await app.register(defenceRoutes, { flow, webhooks });
  await app.register(subscriptionRoutes, { flow, webhooks });
  await app.register(deliveryRoutes, { flow, webhooks });
};

/** The mentor's evaluation of a project, and the student handing a project in. */
const evaluationRoutes: Routes = async (app) => {
  app.post(
    '/sessions/:sessionId/evaluation',
    {
      config: { access: ['mentor'] },
      schema: {
        tags: ['progression'],
        summary: "The mentor's evaluation of the project assessed in a mentoring session",
        description:
          "Only the student's assigned mentor, for a session that took place. validated: the project is validated and the next one unlocked; needs_revision: the student resubmits and books again.",
        params: SessionIdParams,
        body: EvaluationBodySchema,
        response: { 201: EvaluationSchema },
      },
    },
    async (request, reply) => {
      const e = await recordEvaluation(app, request.params.sessionId, viewerOf(request), request.body);
      const { enrollmentId: _e, ...rest } = e;
      return reply.code(201).send({ ...rest, createdAt: e.createdAt.toISOString() });
    },
  );

  app.post(
    '/students/:studentId/projects/:projectId/submit',
    {
      config: { access: ['student'] },
      schema: {
        tags: ['progression'],
        summary: 'Hand a project in (again, after "needs revision")',
        params: ProjectParams,
        body: SubmitBodySchema,
        response: { 200: SubmittedSchema },
      },
    },
    async (request) => {
      const { studentId, projectId } = request.params;
      const result = await submitProject(app, studentId, projectId, viewerOf(request), request.body?.note);
      return { projectId, state: result.state };
    },
  );
};

/** A student's progress and the audit trail of their enrollment. */
const progressRoutes: Routes = async (app) => {
  app.get(
    '/students/:studentId/progress',
    {
      config: { access: ROLES },
      schema: {
        tags: ['progression'],
        summary: "A student's path: projects and states, sessions with attendance, evaluations, defences and diploma",
        description: 'The student, their mentor, a jury member of their defence, or a coordinator.',
        params: StudentIdParams,
        response: { 200: ProgressSchema },
      },
    },
    async (request) => studentProgress(app, request.params.studentId, viewerOf(request)),
  );

  app.get(
    '/students/:studentId/audit',
    {
      config: { access: ['mentor', 'jury', 'coordinator'] },
      schema: {
        tags: ['progression'],
        summary: 'The audit trail of a student’s progress, evaluations, defences and verdicts',
        params: StudentIdParams,
        response: { 200: AuditSchema },
      },
    },
    async (request) => {
      await assertCanViewStudent(app.db, viewerOf(request), request.params.studentId);
      const enrollment = await currentEnrollment(app.db, request.params.studentId);
      return (await auditOfEnrollmentFor(app.db, enrollment.id, viewerOf(request))).map((r) => ({ ...r, at: r.at.toISOString() }));
    },
  );
};

/** The HTTP side of the /defence namespace: the state, admitting, phases, the verdict. */
const defenceRoutes: Routes = async (app, { flow }) => {
  app.get(
    '/defences/:sessionId',
    {
      config: { access: ROLES },
      schema: { tags: ['progression'], summary: 'The live state of a defence', params: SessionIdParams, response: { 200: DefenceStateSchema } },
    },
    async (request) => {
      const session = await getDefenceSession(app.db, request.params.sessionId);
      const role = await defenceRoleOf(app.db, session, viewerOf(request));
      await ensureDefence(app, session);
      const state = await defenceState(app, session.id);
      return role === 'candidate' && state.verdict?.status !== 'final' ? { ...state, verdict: null } : state;
    },
  );

  app.post(
    '/defences/:sessionId/admit',
    {
      config: { access: ['jury', 'coordinator'] },
      schema: { tags: ['progression'], summary: 'Admit the candidate from the lobby (the presentation starts)', params: SessionIdParams, response: { 200: DefenceStateSchema } },
    },
    async (request) => flow.admit(request.params.sessionId, viewerOf(request)),
  );

  app.post(
    '/defences/:sessionId/advance',
    {
      config: { access: ['jury', 'coordinator'] },
      schema: {
        tags: ['progression'],
        summary: 'Move the defence to its next phase',
        params: SessionIdParams,
        body: AdvanceBodySchema,
        response: { 200: DefenceStateSchema },
      },
    },
    async (request) => flow.advance(request.params.sessionId, viewerOf(request), request.body.to),
  );

  app.post(
    '/defences/:sessionId/verdict',
    {
      config: { access: ['jury'] },
      schema: {
        tags: ['progression'],
        summary: 'Propose the verdict (jury of this defence only; supersedes an open proposal)',
        params: SessionIdParams,
        body: VerdictInputSchema,
        response: { 201: VerdictSchema },
      },
    },
    async (request, reply) => reply.code(201).send(await flow.propose(request.params.sessionId, viewerOf(request), request.body)),
  );

  app.post(
    '/defences/:sessionId/verdict/:verdictId/confirm',
    {
      config: { access: ['jury'] },
      schema: {
        tags: ['progression'],
        summary: 'Confirm the verdict; the last jury confirmation completes the defence',
        params: VerdictParams,
        response: { 200: ConfirmationSchema },
      },
    },
    async (request) => {
      const result = await flow.confirm(request.params.sessionId, viewerOf(request), request.params.verdictId);
      return { verdict: result.verdict, completed: result.completed ?? null };
    },
  );
};

/** Webhook subscriptions (coordinators). */
const subscriptionRoutes: Routes = async (app) => {
  app.post(
    '/webhooks',
    {
      config: { access: ['coordinator'] },
      schema: {
        tags: ['webhooks'],
        summary: 'Subscribe a URL to events',
        description:
          'Each delivery is a JSON POST signed with HMAC-SHA256: header x-webhook-signature = "v1=" + hex(HMAC(secret, timestamp + "." + body)), x-webhook-timestamp in Unix seconds. The secret is shown once, here.',
        body: SubscriptionBodySchema,
        response: { 201: CreatedSubscriptionSchema },
      },
    },
    async (request, reply) => {
      const sub = await createSubscription(app.db, request.body, request.user.sub, app.clock.now(), app.config.progression.webhookAllow);
      return reply.code(201).send(toIso(sub));
    },
  );

  app.get(
    '/webhooks',
    { config: { access: ['coordinator'] }, schema: { tags: ['webhooks'], summary: 'Webhook subscriptions', response: { 200: SubscriptionListSchema } } },
    async () => (await listSubscriptions(app.db)).map((sub) => toIso(sub)),
  );

  app.patch(
    '/webhooks/:subscriptionId',
    {
      config: { access: ['coordinator'] },
      schema: {
        tags: ['webhooks'],
        summary: 'Change the events, URL or active flag of a subscription',
        params: SubscriptionParams,
        body: SubscriptionChangeBodySchema,
        response: { 200: SubscriptionSchema },
      },
    },
    async (request) => toIso(await updateSubscription(app.db, request.params.subscriptionId, request.body, request.user.sub, app.clock.now(), app.config.progression.webhookAllow)),
  );

  app.delete(
    '/webhooks/:subscriptionId',
    { config: { access: ['coordinator'] }, schema: { tags: ['webhooks'], summary: 'Delete a subscription and its delivery log', params: SubscriptionParams } },
    async (request, reply) => {
      await deleteSubscription(app.db, request.params.subscriptionId, request.user.sub, app.clock.now());
      return reply.code(204).send();
    },
  );
};

/** The delivery log of a subscription, and sending a dead-lettered delivery again. */
const deliveryRoutes: Routes = async (app, { webhooks }) => {

  app.get(
    '/webhooks/:subscriptionId/deliveries',
    {
      config: { access: ['coordinator'] },
      schema: {
        tags: ['webhooks'],
        summary: 'The delivery log of a subscription (each attempt, its HTTP status and error)',
        params: SubscriptionParams,
        querystring: DeliveriesQuery,
        response: { 200: DeliveryListSchema },
      },
    },
    async (request) =>
      (await deliveriesOf(app.db, request.params.subscriptionId, request.query.status)).map((d) => ({
        ...toIso(d),
        log: d.log.map((l) => ({ ...l, at: l.at.toISOString() })),
      })),
  );

  app.post(
    '/webhooks/deliveries/:deliveryId/redeliver',
    {
      config: { access: ['coordinator'] },
      schema: { tags: ['webhooks'], summary: 'Send a dead-lettered delivery again', params: DeliveryParams, response: { 202: QueuedSchema } },
    },
    async (request, reply) => {
      await webhooks.redeliver(request.params.deliveryId);
      return reply.code(202).send({ queued: true });
    },
  );
};
