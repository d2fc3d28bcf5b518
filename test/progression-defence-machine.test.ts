import t from 'tap';
import { candidateIsolated, candidateView, checkAdvance, checkMarks, nextPhase, phaseEndsAt, PHASES, recordingAllowed, timeline } from '../src/progression/defence-machine.ts';

const durations = { presentationMinutes: 20, questionsMinutes: 15, deliberationMinutes: 10, verdictMinutes: 5 };

t.test('phases follow one order; only one step forward at a time', async (t) => {
  t.same(
    PHASES.map((p) => nextPhase(p)),
    ['presentation', 'questions', 'deliberation', 'verdict', undefined, undefined],
  );
  t.same(checkAdvance('lobby', 'presentation'), { ok: true, to: 'presentation' });
  t.match(checkAdvance('lobby', 'questions'), { ok: false, code: 'candidate_not_admitted' });
  t.match(checkAdvance('presentation', 'deliberation'), { ok: false, code: 'invalid_phase_transition' });
  t.match(checkAdvance('questions', 'presentation'), { ok: false, code: 'invalid_phase_transition' });
  t.match(checkAdvance('verdict', 'completed'), { ok: false, code: 'verdict_pending' }, 'only a confirmed verdict completes');
  t.match(checkAdvance('completed', 'lobby'), { ok: false, code: 'defence_completed' });
});

t.test('the candidate is isolated in the lobby and during deliberation, and sees a waiting screen then', async (t) => {
  t.same(PHASES.map(candidateIsolated), [true, false, false, true, false, false]);
  t.same(PHASES.map(candidateView), ['lobby', 'live', 'live', 'waiting', 'live', 'done']);
});

t.test('deliberation is recorded only when the school says so', async (t) => {
  t.equal(recordingAllowed('deliberation', false), false);
  t.equal(recordingAllowed('deliberation', true), true);
  t.equal(recordingAllowed('questions', false), true);
  t.equal(recordingAllowed('lobby', true), false);
});

t.test('durations', async (t) => {
  const at = new Date('2026-06-01T10:00:00Z');
  t.equal(phaseEndsAt('questions', at, durations)?.toISOString(), '2026-06-01T10:15:00.000Z');
  t.equal(phaseEndsAt('lobby', at, durations), undefined);
  t.same(timeline(durations).map((p) => p.minutes), [20, 15, 10, 5]);
});

t.test('marks: one per competence block, 0 to 20', async (t) => {
  const blocks = ['B1', 'B2'];
  t.same(checkMarks([{ block: 'B1', mark: 12 }, { block: 'B2', mark: 20 }], blocks), { ok: true });
  t.match(checkMarks([], blocks), { code: 'marks_required' });
  t.match(checkMarks([{ block: 'B1', mark: 12 }], blocks), { code: 'marks_do_not_match_blocks' });
  t.match(checkMarks([{ block: 'B1', mark: 12 }, { block: 'B1', mark: 13 }], blocks), { code: 'duplicate_block' });
  t.match(checkMarks([{ block: 'B1', mark: 21 }, { block: 'B2', mark: 2 }], blocks), { code: 'mark_out_of_range' });
  t.same(checkMarks([{ block: 'Anything', mark: 0 }], []), { ok: true }, 'a path without blocks accepts free names');
});
