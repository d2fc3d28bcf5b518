import t, { type Test } from 'tap';
import { assess, deriveParticipant, deriveQuality, type PresenceEvent, type QualityLevel, type QualitySummary } from '../src/attendance/index.ts';

const T0 = Date.UTC(2026, 2, 2, 14, 0, 0);
const at = (s: number) => new Date(T0 + s * 1000);
const ev = (type: PresenceEvent['type'], s: number, source?: PresenceEvent['source']): PresenceEvent => ({ userId: 'u', type, at: at(s), source });
const opts = (untilS: number, close = false) => ({ reconnectGraceSeconds: 60, until: at(untilS), close });
const thresholds = { startsAt: at(0), endsAt: at(3600), lateAfterSeconds: 300, leftEarlyBeforeSeconds: 300 };

/**
 * Someone in since 0 and cut off at 100 s (socket or media) with nothing
 * after: 50 s later, within the 60-second grace, still present but not
 * connected; 61 s later gone since the cut. Returns both views for more checks.
 */
function checkCutOffAt100(t: Test, events: PresenceEvent[]) {
  const within = deriveParticipant(events, opts(150));
  t.equal(within.presentNow, true);
  t.equal(within.connectedNow, false);
  t.equal(within.attendedSeconds, 100);
  const after = deriveParticipant(events, opts(161));
  t.equal(after.presentNow, false);
  t.same(after.lastLeaveAt, at(100));
  return { within, after };
}

/**
 * The connection quality of someone present as `presence` tells, measured up
 * to `untilS`, from the level changes in log order as [level, second].
 */
function qualityOf(presence: PresenceEvent[], untilS: number, changes: Array<[QualityLevel, number]>): QualitySummary {
  const { intervals } = deriveParticipant(presence, opts(untilS));
  return deriveQuality(changes.map(([level, s]) => ({ level, at: at(s) })), intervals, at(untilS));
}
const periodsOf = (q: QualitySummary) => q.periods.map((p) => [p.level, p.from, p.to]);

t.test('a reconnect within the grace is one interval with one network gap', async (t) => {
  const p = deriveParticipant([ev('join', 30), ev('disconnect', 600), ev('reconnect', 640), ev('leave', 3500)], opts(4000));
  t.equal(p.intervals.length, 1);
  t.same(p.intervals[0], { from: at(30), to: at(3500), networkGaps: 1, networkGapSeconds: 40 });
  t.equal(p.attendedSeconds, 3470);
  t.equal(p.networkGaps, 1);
  t.equal(p.networkGapSeconds, 40);
  t.same(p.firstJoinAt, at(30));
  t.same(p.lastLeaveAt, at(3500));
  t.equal(p.presentNow, false);
});

t.test('a new join (new socket) after a drop also counts as a return within the grace', async (t) => {
  const p = deriveParticipant([ev('join', 0), ev('disconnect', 100), ev('join', 160), ev('leave', 200)], opts(300));
  t.equal(p.intervals.length, 1);
  t.equal(p.networkGapSeconds, 60, 'exactly the grace still counts as a gap');
  t.equal(p.attendedSeconds, 200);
});

t.test('a return after the grace is a departure and a new interval', async (t) => {
  const p = deriveParticipant([ev('join', 0), ev('disconnect', 100), ev('reconnect', 161), ev('leave', 300)], opts(400));
  t.equal(p.intervals.length, 2);
  t.same(p.intervals.map((i) => [i.from, i.to]), [
    [at(0), at(100)],
    [at(161), at(300)],
  ]);
  t.equal(p.attendedSeconds, 100 + 139);
  t.equal(p.networkGaps, 0);
});

t.test("rooms' leave at the end of its grace dates the departure at the disconnect", async (t) => {
  const p = deriveParticipant([ev('join', 0), ev('disconnect', 100), ev('leave', 160)], opts(400));
  t.same(p.lastLeaveAt, at(100));
  t.equal(p.attendedSeconds, 100);
});

t.test('a drop with nothing after: within the grace still present, after it gone at the disconnect', async (t) => {
  const { after } = checkCutOffAt100(t, [ev('join', 0), ev('disconnect', 100)]);
  t.same(after.intervals[0]!.to, at(100));
});

t.test('an open interval is measured up to `until`, and closed there when freezing', async (t) => {
  const live = deriveParticipant([ev('join', 10), ev('join', 20)], opts(1000));
  t.equal(live.intervals.length, 1, 'a second join while present (socket takeover) changes nothing');
  t.equal(live.intervals[0]!.to, null);
  t.equal(live.attendedSeconds, 990);
  t.equal(live.lastLeaveAt, null);
  const asOf = deriveParticipant([ev('join', 10), ev('leave', 2000)], opts(1000));
  t.equal(asOf.presentNow, true, 'events after `until` are not taken');
  t.equal(asOf.attendedSeconds, 990);
  const frozen = deriveParticipant([ev('join', 10)], opts(1000, true));
  t.same(frozen.intervals[0]!.to, at(1000));
  t.same(frozen.lastLeaveAt, at(1000));
  t.equal(frozen.presentNow, false);
});

t.test('camera and screen time run while producing and connected', async (t) => {
  const p = deriveParticipant(
    [
      ev('join', 0),
      ev('producer_started', 5, 'mic'),
      ev('producer_started', 60, 'webcam'),
      ev('disconnect', 600),
      ev('reconnect', 640),
      ev('producer_started', 1000, 'screen'),
      ev('producer_stopped', 1300, 'screen'),
      ev('producer_stopped', 2000, 'webcam'),
      ev('producer_started', 2100, 'webcam'),
      ev('transport_failed', 2200),
      ev('leave', 2400),
      ev('producer_stopped', 2401, 'webcam'),
    ],
    opts(4000),
  );
  t.equal(p.cameraSeconds, 540 + 1360 + 300);
  t.equal(p.screenSeconds, 300);
  t.equal(p.micSeconds, 595 + 1760);
  t.equal(p.transportFailures, 1);
});

t.test('a paused webcam or screen is not media time until resumed', async (t) => {
  const p = deriveParticipant(
    [
      ev('join', 0),
      ev('producer_started', 10, 'webcam'),
      ev('producer_paused', 100, 'webcam'),
      ev('producer_paused', 120, 'webcam'),
      ev('producer_resumed', 400, 'webcam'),
      ev('producer_resumed', 410, 'webcam'),
      ev('producer_started', 500, 'screen'),
      ev('producer_paused', 700, 'screen'),
      ev('producer_stopped', 800, 'screen'),
      ev('producer_started', 900, 'screen'),
      ev('producer_paused', 1000, 'webcam'),
      ev('leave', 1200),
      ev('producer_resumed', 1300, 'webcam'),
    ],
    opts(2000),
  );
  t.equal(p.cameraSeconds, 90 + 600, 'paused from 100 to 400 (a repeated pause or resume changes nothing), paused again at 1000');
  t.equal(p.screenSeconds, 200 + 300, 'a screen stopped while paused ends paused; a new share runs');
  t.equal(p.micSeconds, 0, 'a pause of one source leaves the others alone');
  t.equal(p.attendedSeconds, 1200);
});

t.test('a pause or resume with nothing to pause, or while out of the room, is ignored', async (t) => {
  const p = deriveParticipant(
    [
      ev('producer_paused', 0, 'mic'),
      ev('join', 10),
      ev('producer_resumed', 20, 'mic'),
      ev('producer_paused', 30, 'mic'),
      ev('producer_started', 40, 'mic'),
      ev('leave', 100),
      ev('join', 200),
      ev('producer_started', 210, 'mic'),
    ],
    opts(300),
  );
  t.equal(p.micSeconds, 60 + 90, 'a pause or resume of no running producer (or while out) is ignored: nothing carried over');
});

t.test('a pause lasts across a network gap, and a resume while disconnected runs from the return', async (t) => {
  const p = deriveParticipant(
    [
      ev('join', 0),
      ev('producer_started', 0, 'webcam'),
      ev('producer_started', 0, 'mic'),
      ev('producer_paused', 100, 'webcam'),
      ev('disconnect', 200),
      ev('reconnect', 230),
      ev('producer_resumed', 300, 'webcam'),
      ev('producer_paused', 400, 'mic'),
      ev('disconnect', 500),
      ev('producer_resumed', 510, 'mic'),
      ev('reconnect', 520),
      ev('leave', 600),
    ],
    opts(1000),
  );
  t.equal(p.cameraSeconds, 100 + 200 + 80, 'nothing between the pause at 100 and the resume at 300, gap or not');
  t.equal(p.micSeconds, 200 + 170 + 80, 'mic paused 400..520: resumed during the gap, counted again from the return');
  t.equal(p.networkGapSeconds, 30 + 20);

  const frozen = deriveParticipant([ev('join', 0), ev('producer_started', 0, 'webcam'), ev('producer_paused', 50, 'webcam'), ev('disconnect', 60)], opts(200, true));
  t.equal(frozen.cameraSeconds, 50, 'paused until the grace ran out: the camera stopped at the pause');
  t.same(frozen.lastLeaveAt, at(60));
});

t.test('instants are taken to the whole second', async (t) => {
  const p = deriveParticipant(
    [
      { userId: 'u', type: 'join', at: new Date(T0 + 999) },
      { userId: 'u', type: 'leave', at: new Date(T0 + 10_001) },
    ],
    opts(100),
  );
  t.equal(p.attendedSeconds, 10);
  t.same(p.firstJoinAt, at(0));
});

t.test('status: late, left early, present, no-show, pending', async (t) => {
  const present = deriveParticipant([ev('join', -120), ev('leave', 3500)], opts(4000));
  t.same(assess(present, { ...thresholds, noShowDue: true }), { status: 'present', latenessSeconds: 0, late: false, leftEarly: false });
  const late = deriveParticipant([ev('join', 301), ev('leave', 3000)], opts(4000));
  t.same(assess(late, { ...thresholds, noShowDue: true }), { status: 'late', latenessSeconds: 301, late: true, leftEarly: true });
  const onTheLine = deriveParticipant([ev('join', 300), ev('leave', 3300)], opts(4000));
  t.same(assess(onTheLine, { ...thresholds, noShowDue: true }), { status: 'present', latenessSeconds: 300, late: false, leftEarly: false });
  const early = deriveParticipant([ev('join', 0), ev('leave', 3299)], opts(4000));
  t.equal(assess(early, { ...thresholds, noShowDue: true }).status, 'left_early');
  const stillThere = deriveParticipant([ev('join', 0), ev('leave', 100), ev('join', 200)], opts(1000));
  t.equal(assess(stillThere, { ...thresholds, noShowDue: true }).status, 'present', 'someone back in the room has not left early');
  const never = deriveParticipant([], opts(4000));
  t.equal(assess(never, { ...thresholds, noShowDue: false }).status, 'pending');
  t.same(assess(never, { ...thresholds, noShowDue: true }), { status: 'no_show', latenessSeconds: null, late: false, leftEarly: false });
});

t.test('a media blackout with the socket open is a network gap from the first second', async (t) => {
  const p = deriveParticipant(
    [
      ev('join', 0),
      ev('producer_started', 1, 'webcam'),
      ev('media_flowing', 2),
      // Rooms notices the silence a few seconds later and dates the loss back to the last packet.
      ev('media_lost', 100),
      ev('media_flowing', 110),
      ev('leave', 200),
    ],
    opts(300),
  );
  t.equal(p.intervals.length, 1, 'one visit');
  t.same(p.intervals[0], { from: at(0), to: at(200), networkGaps: 1, networkGapSeconds: 10 });
  t.equal(p.cameraSeconds, 99 + 90, 'no camera time while nothing arrives');
  t.equal(p.transportFailures, 1, 'a blackout counts as a transport failure');
  t.equal(p.attendedSeconds, 200);
});

t.test('a socket drop while media still flows is no gap at all', async (t) => {
  const p = deriveParticipant(
    [ev('join', 0), ev('producer_started', 1, 'mic'), ev('media_flowing', 2), ev('disconnect', 50), ev('reconnect', 55), ev('leave', 100)],
    opts(200),
  );
  t.same(p.intervals, [{ from: at(0), to: at(100), networkGaps: 0, networkGapSeconds: 0 }]);
  t.equal(p.micSeconds, 99);
});

t.test('a long blackout: the grace counts from the first second of the outage, not from the socket timeout', async (t) => {
  const p = deriveParticipant(
    [
      ev('join', 0),
      ev('producer_started', 0, 'webcam'),
      ev('media_flowing', 1),
      ev('media_lost', 100),
      // Socket.IO notices the dead socket 40 s later.
      ev('disconnect', 140),
      // Back after 70 s: the rejoin closes the old transports (media idle), then media flows again.
      ev('media_idle', 170),
      ev('reconnect', 170),
      ev('media_flowing', 172),
      ev('leave', 300),
    ],
    opts(400),
  );
  t.same(
    p.intervals.map((i) => [i.from, i.to, i.networkGaps]),
    [
      [at(0), at(100), 0],
      [at(170), at(300), 0],
    ],
    'a departure at the start of the outage and a new visit after it',
  );
  t.same(p.lastLeaveAt, at(300));
  t.equal(p.attendedSeconds, 100 + 130);
});

t.test('a blackout still going on: within the grace present but not connected, after it gone since its start', async (t) => {
  const events = [ev('join', 0), ev('media_flowing', 1), ev('media_lost', 100)];
  checkCutOffAt100(t, events);
  const frozen = deriveParticipant(events, opts(150, true));
  t.same(frozen.intervals[0]!.to, at(100), 'frozen during the outage: closed where it began');
});

t.test('idle media leaves the socket in charge; a return of media after the grace is a new visit even without a new join', async (t) => {
  const p = deriveParticipant(
    [
      ev('join', 0),
      ev('media_flowing', 1),
      ev('media_idle', 20), // camera off, mic muted: nothing to watch
      ev('disconnect', 30),
      ev('reconnect', 40),
      ev('media_flowing', 50),
      ev('media_lost', 60),
      ev('media_flowing', 200),
      ev('leave', 300),
    ],
    opts(400),
  );
  t.same(
    p.intervals.map((i) => [i.from, i.to, i.networkGaps, i.networkGapSeconds]),
    [
      [at(0), at(60), 1, 10],
      [at(200), at(300), 0, 0],
    ],
  );
});

t.test('connection quality: seconds per level and the periods below excellent, inside the presence only', async (t) => {
  const q = qualityOf([ev('join', 0), ev('leave', 100), ev('join', 200), ev('leave', 300)], 400, [
    ['excellent', 0],
    ['poor', 40],
    ['lost', 50],
    ['good', 60],
    ['excellent', 250],
  ]);
  t.same(q.seconds, { excellent: 40 + 50, poor: 10, lost: 10, good: 40 + 50 });
  t.same(
    periodsOf(q),
    [
      ['poor', at(40), at(50)],
      ['lost', at(50), at(60)],
      ['good', at(60), at(100)],
      ['good', at(200), at(250)],
    ],
  );
});

t.test('connection quality: a loss dated back overrides the levels sampled after its instant (they were logged before it was noticed)', async (t) => {
  // Log order: poor sampled at 22 s, then at 23 s the monitor notices the media stopped at 20 s.
  const q = qualityOf([ev('join', 0)], 100, [
    ['excellent', 0],
    ['poor', 22],
    ['lost', 20],
    ['good', 30],
    ['excellent', 40],
  ]);
  t.same(q.seconds, { excellent: 20 + 60, poor: 0, lost: 10, good: 10 });
  t.same(
    periodsOf(q),
    [
      ['lost', at(20), at(30)],
      ['good', at(30), at(40)],
    ],
  );
});
