import t from 'tap';
import { connectionQuality, idleWatch, observeMedia, smoothQuality, type MediaWatch } from '../src/rooms/media-health.ts';

/** Feeds samples one second apart; returns the changes logged. */
function run(samples: Array<Array<[string, number]>>, lossAfterMs = 2500) {
  let watch: MediaWatch = idleWatch(0);
  const changes: Array<[string, number]> = [];
  samples.forEach((producers, i) => {
    const r = observeMedia(watch, { at: (i + 1) * 1000, producers: producers.map(([id, packets]) => ({ id, packets })) }, lossAfterMs);
    watch = r.watch;
    if (r.change) changes.push([r.change.type, r.change.at]);
  });
  return { watch, changes };
}

t.test('media flowing, then silent: lost, dated at the last sample that saw a packet', async (t) => {
  const { changes, watch } = run([
    [['cam', 30]],
    [['cam', 60]],
    [['cam', 90]], // last packets seen at 3 s
    [['cam', 90]],
    [['cam', 90]],
    [['cam', 90]], // 6 s: 3 s without a packet
    [['cam', 90]],
    [['cam', 120]], // back at 8 s
  ]);
  t.same(changes, [
    ['media_flowing', 1000],
    ['media_lost', 3000],
    ['media_flowing', 8000],
  ]);
  t.equal(watch.state, 'flowing');
});

t.test('a short silence is no loss; any running producer keeps media alive', async (t) => {
  const { changes } = run([
    [['cam', 10], ['mic', 50]],
    [['cam', 10], ['mic', 100]],
    [['cam', 10], ['mic', 150]],
    [['cam', 10], ['mic', 150]],
    [['cam', 10], ['mic', 150]],
    [['cam', 40], ['mic', 200]],
  ]);
  t.same(changes, [['media_flowing', 1000]], 'two silent samples (2 s) are under the 2.5 s threshold');
});

t.test('no running producer: idle; a producer that never sends is lost after the threshold from when watching began', async (t) => {
  const { changes } = run([[['cam', 10]], [], [['mic', 0]], [['mic', 0]], [['mic', 0]], [['mic', 0]]]);
  t.same(changes, [
    ['media_flowing', 1000],
    ['media_idle', 2000],
    ['media_lost', 3000],
  ]);
});

t.test('connection quality: lost, poor, good, excellent', async (t) => {
  t.equal(connectionQuality({ connected: false, mediaLost: false, scores: [] }), 'lost');
  t.equal(connectionQuality({ connected: true, mediaLost: true, scores: [10] }), 'lost');
  t.equal(connectionQuality({ connected: true, mediaLost: false, scores: [] }), 'excellent', 'nothing to measure');
  t.equal(connectionQuality({ connected: true, mediaLost: false, scores: [10, 9] }), 'excellent');
  t.equal(connectionQuality({ connected: true, mediaLost: false, scores: [10, 6] }), 'good', 'the worst score counts');
  t.equal(connectionQuality({ connected: true, mediaLost: false, scores: [3] }), 'poor');
  t.equal(connectionQuality({ connected: true, mediaLost: false, scores: [10], lossRate: 0.05 }), 'good');
  t.equal(connectionQuality({ connected: true, mediaLost: false, scores: [10], lossRate: 0.15 }), 'poor');
  t.equal(connectionQuality({ connected: true, mediaLost: false, scores: [10], roundTripMs: 300 }), 'good');
  t.equal(connectionQuality({ connected: true, mediaLost: false, scores: [10], roundTripMs: 700 }), 'poor');
  t.equal(connectionQuality({ connected: true, mediaLost: false, scores: [10], jitterMs: 40 }), 'good');
});

t.test('quality is damped: worse at once, better after three samples in a row (from lost at once)', async (t) => {
  let q = { level: 'excellent' as const, better: 0 } as ReturnType<typeof smoothQuality>;
  q = smoothQuality(q, 'poor');
  t.equal(q.level, 'poor');
  q = smoothQuality(q, 'excellent');
  q = smoothQuality(q, 'excellent');
  t.equal(q.level, 'poor');
  q = smoothQuality(q, 'excellent');
  t.equal(q.level, 'excellent');
  q = smoothQuality(q, 'lost');
  t.equal(q.level, 'lost');
  t.equal(smoothQuality(q, 'good').level, 'good', 'back from lost at once');
});
