export { progressionPlugin } from './plugin.ts';
export { assertDefenceEligible, diplomaOfEnrollment, type DefenceState, type Diploma } from './defences.ts';
export { evaluationsOfEnrollment, type Evaluation, type CodeReviewComment } from './evaluations.ts';
export { signPayload, verifySignature, WEBHOOK_EVENTS, SIGNATURE_HEADER, TIMESTAMP_HEADER, EVENT_HEADER, DELIVERY_HEADER } from './webhooks.ts';
export { PHASES, type Phase } from './defence-machine.ts';
export { seedProgressionDemo } from './demo.ts';
