/**
 * Is a participant's media alive, and how good is their connection? Pure
 * decisions over samples the room's MediaMonitor takes every second (no I/O,
 * no clock: instants are passed in, in milliseconds).
 *
 * Liveness: a running (not paused) producer sends RTP all the time (a camera
 * 15-30 frames a second, a mic every 20 ms, even silent), so when none of a
 * participant's running producers received a packet for `lossAfterMs`, their
 * network is gone, whatever their signalling socket says. The loss is dated
 * at the last sample that saw a packet, so the record starts the outage at its
 * first second, not when it was noticed. With no running producer there is
 * nothing to watch: media is idle and the socket alone tells.
 */
import type { ConnectionQuality } from '../events/index.ts';

export type MediaState = 'idle' | 'flowing' | 'lost';

export interface MediaWatch {
  state: MediaState;
  /** When a sample last saw a packet (or when watching began). */
  lastPacketAt: number;
  /** Packets received so far, by producer id. */
  counts: ReadonlyMap<string, number>;
}

export interface MediaSample {
  at: number;
  /** The participant's running producers and the packets each received so far. */
  producers: ReadonlyArray<{ id: string; packets: number }>;
}

export interface MediaChange {
  type: 'media_flowing' | 'media_lost' | 'media_idle';
  /** When it happened (a loss: the last sample that saw a packet). */
  at: number;
}

export const idleWatch = (at = 0): MediaWatch => ({ state: 'idle', lastPacketAt: at, counts: new Map() });

/** The next state of one participant's media after a sample, and the change to log if any. */
export function observeMedia(prev: MediaWatch, sample: MediaSample, lossAfterMs: number): { watch: MediaWatch; change?: MediaChange } {
  const counts = new Map(sample.producers.map((p) => [p.id, p.packets]));
  if (sample.producers.length === 0) {
    const watch = idleWatch(sample.at);
    return prev.state === 'idle' ? { watch } : { watch, change: { type: 'media_idle', at: sample.at } };
  }
  // A producer seen for the first time counts as a packet if it already has some.
  const advanced = sample.producers.some((p) => p.packets > (prev.counts.get(p.id) ?? 0));
  // Watching starts now (idle, nothing watched yet): a producer gets `lossAfterMs` to send its first packet.
  const lastPacketAt = advanced || (prev.state === 'idle' && prev.counts.size === 0) ? sample.at : prev.lastPacketAt;
  if (advanced) {
    const watch: MediaWatch = { state: 'flowing', lastPacketAt, counts };
    return prev.state === 'flowing' ? { watch } : { watch, change: { type: 'media_flowing', at: sample.at } };
  }
  if (sample.at - lastPacketAt >= lossAfterMs) {
    const watch: MediaWatch = { state: 'lost', lastPacketAt, counts };
    return prev.state === 'lost' ? { watch } : { watch, change: { type: 'media_lost', at: lastPacketAt } };
  }
  return { watch: { state: prev.state, lastPacketAt, counts } };
}

export interface QualityInput {
  /** Socket up or media flowing. */
  connected: boolean;
  mediaLost: boolean;
  /** mediasoup scores (0-10) of the participant's producers (uplink) and consumers (downlink). */
  scores: number[];
  /** Fraction of packets lost on the uplink since the last sample (0-1), if known. */
  lossRate?: number | undefined;
  roundTripMs?: number | undefined;
  jitterMs?: number | undefined;
}

/**
 * The level LiveKit would show: lost (nothing arrives), poor, good or
 * excellent from mediasoup's scores, loss, round trip and jitter. With nothing
 * to measure (no media either way), a connected participant is excellent.
 */
export function connectionQuality(q: QualityInput): ConnectionQuality {
  if (!q.connected || q.mediaLost) return 'lost';
  const score = q.scores.length > 0 ? Math.min(...q.scores) : 10;
  const loss = q.lossRate ?? 0;
  const rtt = q.roundTripMs ?? 0;
  const jitter = q.jitterMs ?? 0;
  if (score <= 4 || loss >= 0.1 || rtt >= 500) return 'poor';
  if (score <= 7 || loss >= 0.02 || rtt >= 250 || jitter >= 30) return 'good';
  return 'excellent';
}

const RANK: Record<ConnectionQuality, number> = { lost: 0, poor: 1, good: 2, excellent: 3 };

/**
 * Damps flapping: a worse level is taken at once, a better one only after it
 * held for `upgradeAfter` samples in a row.
 */
export function smoothQuality(
  prev: { level: ConnectionQuality; better: number },
  measured: ConnectionQuality,
  upgradeAfter = 3,
): { level: ConnectionQuality; better: number } {
  if (RANK[measured] <= RANK[prev.level]) return { level: measured, better: 0 };
  const better = prev.better + 1;
  return better >= upgradeAfter || prev.level === 'lost' ? { level: measured, better: 0 } : { level: prev.level, better };
}
