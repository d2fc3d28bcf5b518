import type { DefencePhaseDurations } from './config.ts';
import type { CodeOf } from '../shared/errors.ts';

/**
 * The defence state machine, without I/O: which phase follows which, what the
 * candidate sees, whether their media is isolated from the jury, and whether
 * the room may be recorded.
 *
 *   lobby → presentation → questions → deliberation → verdict → completed
 *
 * The candidate waits in the lobby until a jury member (or a coordinator)
 * admits them, which starts the presentation. At deliberation the candidate
 * is moved out (isolated, a waiting screen); they come back for the verdict.
 * The verdict phase ends when every jury member has confirmed a verdict.
 */
export const PHASES = ['lobby', 'presentation', 'questions', 'deliberation', 'verdict', 'completed'] as const;
export type Phase = (typeof PHASES)[number];
export type TimedPhase = 'presentation' | 'questions' | 'deliberation' | 'verdict';
export type CandidateView = 'lobby' | 'live' | 'waiting' | 'done';

const NEXT: Record<Phase, Phase | undefined> = {
  lobby: 'presentation',
  presentation: 'questions',
  questions: 'deliberation',
  deliberation: 'verdict',
  verdict: undefined, // completed only through a confirmed verdict
  completed: undefined,
};

export function nextPhase(phase: Phase): Phase | undefined {
  return NEXT[phase];
}

export type TransitionCheck = { ok: true; to: Phase } | { ok: false; code: CodeOf<'conflict'>; message: string };

/** May the flow move from `from` to `to` by hand (admit / advance)? Only one step forward. */
export function checkAdvance(from: Phase, to: Phase): TransitionCheck {
  if (from === 'completed') return { ok: false, code: 'defence_completed', message: 'This defence is over' };
  if (from === 'lobby' && to !== 'presentation') return { ok: false, code: 'candidate_not_admitted', message: 'Admit the candidate first' };
  if (from === 'verdict') return { ok: false, code: 'verdict_pending', message: 'The defence ends when every jury member has confirmed the verdict' };
  const expected = NEXT[from];
  if (to !== expected) return { ok: false, code: 'invalid_phase_transition', message: `From ${from} the next phase is ${expected}` };
  return { ok: true, to };
}

export function phaseMinutes(phase: Phase, durations: DefencePhaseDurations): number | undefined {
  switch (phase) {
    case 'presentation':
      return durations.presentationMinutes;
    case 'questions':
      return durations.questionsMinutes;
    case 'deliberation':
      return durations.deliberationMinutes;
    case 'verdict':
      return durations.verdictMinutes;
    default:
      return undefined;
  }
}

/** When the phase entered at `at` is planned to end (undefined for lobby and completed). */
export function phaseEndsAt(phase: Phase, at: Date, durations: DefencePhaseDurations): Date | undefined {
  const minutes = phaseMinutes(phase, durations);
  return minutes === undefined ? undefined : new Date(at.getTime() + minutes * 60_000);
}

export function candidateView(phase: Phase): CandidateView {
  switch (phase) {
    case 'lobby':
      return 'lobby';
    case 'deliberation':
      return 'waiting';
    case 'completed':
      return 'done';
    default:
      return 'live';
  }
}

/** The candidate's media neither reaches the jury nor receives theirs in the lobby and during deliberation. */
export function candidateIsolated(phase: Phase): boolean {
  return phase === 'lobby' || phase === 'deliberation';
}

/** Whether the room may be recorded during this phase (deliberation follows the school's rule). */
export function recordingAllowed(phase: Phase, recordDeliberation: boolean): boolean {
  if (phase === 'deliberation') return recordDeliberation;
  return phase !== 'lobby' && phase !== 'completed';
}

/** Durations of all timed phases, in order, for the clients' timeline. */
export function timeline(durations: DefencePhaseDurations): Array<{ phase: TimedPhase; minutes: number }> {
  return [
    { phase: 'presentation', minutes: durations.presentationMinutes },
    { phase: 'questions', minutes: durations.questionsMinutes },
    { phase: 'deliberation', minutes: durations.deliberationMinutes },
    { phase: 'verdict', minutes: durations.verdictMinutes },
  ];
}

export interface Mark {
  block: string;
  mark: number;
}

/**
 * Checks a verdict's marks: one mark (0 to 20) per competence block of the
 * path, each block once. `blocks` empty means the path defines none: any
 * non-empty list of distinct blocks is accepted.
 */
export function checkMarks(marks: Mark[], blocks: string[]): { ok: true } | { ok: false; code: CodeOf<'unprocessable'>; message: string } {
  if (marks.length === 0) return { ok: false, code: 'marks_required', message: 'A mark per competence block is required' };
  const seen = new Set<string>();
  for (const m of marks) {
    if (seen.has(m.block)) return { ok: false, code: 'duplicate_block', message: `Block ${m.block} is marked twice` };
    seen.add(m.block);
    if (!(m.mark >= 0 && m.mark <= 20)) return { ok: false, code: 'mark_out_of_range', message: `Marks go from 0 to 20 (${m.block}: ${m.mark})` };
  }
  if (blocks.length > 0) {
    const missing = blocks.filter((b) => !seen.has(b));
    const unknown = [...seen].filter((b) => !blocks.includes(b));
    if (missing.length > 0 || unknown.length > 0) {
      return { ok: false, code: 'marks_do_not_match_blocks', message: `Mark exactly the path's blocks (missing: ${missing.join(', ') || 'none'}; unknown: ${unknown.join(', ') || 'none'})` };
    }
  }
  return { ok: true };
}
