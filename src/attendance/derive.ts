/**
 * Pure derivation of attendance from the presence log: no I/O, no clock. Every
 * instant is truncated to the whole second first, so each figure is an exact
 * number of seconds and sums agree with their parts.
 *
 * Rules:
 * - `join` or `reconnect` opens a presence interval (a second one while
 *   present is a socket takeover: nothing changes).
 * - `disconnect` suspends the interval. A `join`/`reconnect` within the grace
 *   resumes it: one interval, one network gap (its seconds count as attended:
 *   a network gap is not a departure). Otherwise the interval ended at the
 *   disconnect.
 * - `leave` ends the interval (at the disconnect instant if it was suspended).
 * - Media time (mic, webcam, screen) runs while a producer of that source is
 *   started, not paused, and the participant is connected; leaving ends it.
 *   `producer_paused` (muted, camera off) stops it until `producer_resumed`;
 *   a pause outlives a network gap (the producer does). Rooms allows one
 *   producer per source and user, so a `producer_stopped` while paused is the
 *   paused one.
 * - An interval still open at `until` is measured up to there (a suspended
 *   one up to its disconnect), and closed there with `close`.
 */
import type { PresenceType } from '../events/index.ts';

export type MediaSource = 'mic' | 'webcam' | 'screen';

export interface PresenceEvent {
  userId: string;
  type: PresenceType;
  source?: MediaSource | null | undefined;
  at: Date;
}

export interface PresenceInterval {
  from: Date;
  /** End of the interval; null while the participant is still present. */
  to: Date | null;
  networkGaps: number;
  networkGapSeconds: number;
}

export interface ParticipantPresence {
  intervals: PresenceInterval[];
  firstJoinAt: Date | null;
  /** When the participant last left; null if never joined or still present. */
  lastLeaveAt: Date | null;
  /** Present (or within the reconnect grace) at `until`. */
  presentNow: boolean;
  /** Connected at `until` (present and not in a network gap). */
  connectedNow: boolean;
  attendedSeconds: number;
  networkGaps: number;
  networkGapSeconds: number;
  micSeconds: number;
  cameraSeconds: number;
  screenSeconds: number;
  transportFailures: number;
}

export interface DeriveOptions {
  reconnectGraceSeconds: number;
  /** Instant at which open intervals are measured (now while live, the freeze instant at finalize). */
  until: Date;
  /** Close whatever is still open at `until` (a suspended interval at its disconnect): used to freeze. */
  close?: boolean;
}

const sec = (d: Date): number => Math.floor(d.getTime() / 1000);
const date = (s: number): Date => new Date(s * 1000);

/** Sorts by time, keeping the log order of events within the same second. */
export function sortEvents<E extends PresenceEvent>(events: readonly E[]): E[] {
  return events.map((e, i) => ({ e, i })).sort((a, b) => sec(a.e.at) - sec(b.e.at) || a.i - b.i).map((x) => x.e);
}

export function deriveParticipant(events: readonly PresenceEvent[], options: DeriveOptions): ParticipantPresence {
  const grace = options.reconnectGraceSeconds;
  const until = sec(options.until);
  const intervals: Array<{ from: number; to: number | null; gaps: number; gapSeconds: number }> = [];
  const media: Record<MediaSource, number> = { mic: 0, webcam: 0, screen: 0 };
  const active: Record<MediaSource, number> = { mic: 0, webcam: 0, screen: 0 };
  // Of the active producers, how many are paused (never more than active).
  const paused: Record<MediaSource, number> = { mic: 0, webcam: 0, screen: 0 };
  const running = (s: MediaSource) => active[s] - paused[s] > 0;
  const mediaSince: Record<MediaSource, number | null> = { mic: null, webcam: null, screen: null };
  let state: 'out' | 'in' | 'suspended' = 'out';
  let suspendedAt = 0;
  let transportFailures = 0;
  const current = () => intervals[intervals.length - 1]!;

  const startMedia = (t: number) => {
    for (const s of ['mic', 'webcam', 'screen'] as const) if (running(s) && mediaSince[s] === null) mediaSince[s] = t;
  };
  const stopMedia = (t: number, source?: MediaSource) => {
    for (const s of source ? [source] : (['mic', 'webcam', 'screen'] as const)) {
      const since = mediaSince[s];
      if (since !== null) media[s] += Math.max(0, t - since);
      mediaSince[s] = null;
    }
  };
  const endInterval = (t: number) => {
    stopMedia(t);
    active.mic = active.webcam = active.screen = 0;
    paused.mic = paused.webcam = paused.screen = 0;
    current().to = t;
    state = 'out';
  };
  // A suspended interval whose grace ran out before `t` ended at its disconnect.
  const expireGrace = (t: number) => {
    if (state === 'suspended' && t - suspendedAt > grace) endInterval(suspendedAt);
  };

  for (const e of sortEvents(events)) {
    const t = sec(e.at);
    if (t > until) break; // the state as of `until`
    expireGrace(t);
    switch (e.type) {
      case 'join':
      case 'reconnect':
        if (state === 'out') {
          intervals.push({ from: t, to: null, gaps: 0, gapSeconds: 0 });
          state = 'in';
        } else if (state === 'suspended') {
          current().gaps += 1;
          current().gapSeconds += t - suspendedAt;
          state = 'in';
          startMedia(t);
        }
        break;
      case 'disconnect':
        if (state === 'in') {
          stopMedia(t);
          state = 'suspended';
          suspendedAt = t;
        }
        break;
      case 'leave':
        if (state === 'in') endInterval(t);
        else if (state === 'suspended') endInterval(suspendedAt);
        break;
      case 'producer_started':
        if (e.source && state !== 'out') {
          active[e.source] += 1;
          if (state === 'in') startMedia(t);
        }
        break;
      case 'producer_stopped':
        if (e.source && active[e.source] > 0) {
          active[e.source] -= 1;
          paused[e.source] = Math.min(paused[e.source], active[e.source]);
          if (!running(e.source)) stopMedia(t, e.source);
        }
        break;
      case 'producer_paused':
        if (e.source && paused[e.source] < active[e.source]) {
          paused[e.source] += 1;
          if (!running(e.source)) stopMedia(t, e.source);
        }
        break;
      case 'producer_resumed':
        if (e.source && paused[e.source] > 0) {
          paused[e.source] -= 1;
          if (state === 'in') startMedia(t);
        }
        break;
      case 'transport_failed':
        transportFailures += 1;
        break;
      case 'transport_connected':
        break;
    }
  }
  expireGrace(until);
  if (options.close) {
    if (state === 'in') endInterval(until);
    else if (state === 'suspended') endInterval(suspendedAt);
  }
  const presentNow = state !== 'out';
  const connectedNow = state === 'in';
  // Measure what is still open at `until`, without closing it in the result.
  const openEnd = state === 'in' ? until : state === 'suspended' ? suspendedAt : null;
  if (openEnd !== null) stopMedia(openEnd);

  const attendedSeconds = intervals.reduce((sum, i) => sum + Math.max(0, (i.to ?? openEnd ?? i.from) - i.from), 0);
  const closed = intervals.filter((i) => i.to !== null);
  return {
    intervals: intervals.map((i) => ({ from: date(i.from), to: i.to === null ? null : date(i.to), networkGaps: i.gaps, networkGapSeconds: i.gapSeconds })),
    firstJoinAt: intervals[0] ? date(intervals[0].from) : null,
    lastLeaveAt: presentNow || closed.length === 0 ? null : date(closed[closed.length - 1]!.to!),
    presentNow,
    connectedNow,
    attendedSeconds,
    networkGaps: intervals.reduce((n, i) => n + i.gaps, 0),
    networkGapSeconds: intervals.reduce((n, i) => n + i.gapSeconds, 0),
    micSeconds: media.mic,
    cameraSeconds: media.webcam,
    screenSeconds: media.screen,
    transportFailures,
  };
}

export type AttendanceStatus = 'present' | 'late' | 'left_early' | 'no_show' | 'pending';

export interface StatusInput {
  startsAt: Date;
  endsAt: Date;
  lateAfterSeconds: number;
  leftEarlyBeforeSeconds: number;
  /** The no-show check ran (or the record is being frozen): never joined means no-show. */
  noShowDue: boolean;
}

export interface Assessment {
  status: AttendanceStatus;
  /** Seconds between the scheduled start and the first join (0 when on time or early; null if never joined). */
  latenessSeconds: number | null;
  late: boolean;
  leftEarly: boolean;
}

/**
 * One status per participant: no_show (never joined once the check is due),
 * else late (first join after start + tolerance), else left_early (gone for
 * good before end - tolerance), else present; `pending` before the no-show
 * check for someone not yet there. `late` and `leftEarly` are also given apart.
 */
export function assess(p: ParticipantPresence, input: StatusInput): Assessment {
  if (!p.firstJoinAt) return { status: input.noShowDue ? 'no_show' : 'pending', latenessSeconds: null, late: false, leftEarly: false };
  const latenessSeconds = Math.max(0, sec(p.firstJoinAt) - sec(input.startsAt));
  const late = latenessSeconds > input.lateAfterSeconds;
  const leftEarly = !p.presentNow && p.lastLeaveAt !== null && sec(input.endsAt) - sec(p.lastLeaveAt) > input.leftEarlyBeforeSeconds;
  return { status: late ? 'late' : leftEarly ? 'left_early' : 'present', latenessSeconds, late, leftEarly };
}
