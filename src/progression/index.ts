/**
 * Path progression. Public face: the plugin ('progression', decorates
 * `app.progression`: the defence flow and the webhooks), the pure defence
 * state machine, the webhook signature, and reads for other capabilities
 * (a session's defence phases and outcome, for recording).
 */
export { progressionPlugin, type Progression } from './plugin.ts';
export { DefenceFlow } from './defence-flow.ts';
export { Webhooks } from './webhooks.ts';
export { assertDefenceEligible, diplomaOfEnrollment, type DefenceState, type Diploma } from './defences.ts';
export { evaluationsOfEnrollment, type Evaluation, type CodeReviewComment } from './evaluations.ts';
export { signPayload, verifySignature, WEBHOOK_EVENTS, SIGNATURE_HEADER, TIMESTAMP_HEADER, EVENT_HEADER, DELIVERY_HEADER } from './webhooks.ts';
export { PHASES, type Phase } from './defence-machine.ts';
export { seedProgressionDemo } from './demo.ts';
export { defencePhasesOf, sessionOutcomeOf, type PhaseMark, type SessionOutcome } from './session-record.ts';
