/**
 * Pure derivation of attendance from the presence log: no I/O, no clock. Every
 * instant is truncated to the whole second first, so each figure is an exact
 * number of seconds and sums agree with their parts.
 *
 * A participant is *connected* while they are in the room (joined, not left)
 * and their connection is alive. Two witnesses say whether it is:
 * - the signalling socket (`join`/`reconnect` up, `disconnect` down);
 * - their media (`media_flowing`, `media_lost`, `media_idle`, from the rooms
 *   capability watching the packets their producers send). While their media
 *   speaks (flowing or lost) it decides: a blackout with the socket still open
 *   is a network gap from the instant the packets stopped (rooms dates
 *   `media_lost` back to then), and a socket drop while media still flows is no
 *   gap at all. While it is idle (no running producer) the socket decides.
 *
 * Rules:
 * - Becoming connected opens a presence interval, or, when the last one is
 *   suspended and the grace has not run out, resumes it: one interval, one
 *   network gap (its seconds count as attended: a network gap is not a
 *   departure).
 * - Losing the connection suspends the interval. If it does not come back
 *   within the grace (counted from the start of the outage), the interval
 *   ended where the outage began; a later return is a new interval.
 * - `leave` ends the interval (at the start of the outage if it was suspended).
 * - A second `join` while present is a socket takeover: nothing changes.
 * - Media time (mic, webcam, screen) runs while a producer of that source is
 *   started, not paused, and the participant is connected; leaving ends it.
 *   `producer_paused` (muted, camera off) stops it until `producer_resumed`;
 *   a pause outlives a network gap (the producer does). Rooms allows one
 *   producer per source and user, so a `producer_stopped` while paused is the
 *   paused one.
 * - `transport_failed` and `media_lost` count as transport failures.
 * - An interval still open at `until` is measured up to there (a suspended
 *   one up to the start of its outage), and closed there with `close`.
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

/** The figures of one participant's presence, the same in the derivation, the stored record and the views. */
export interface PresenceFigures {
  attendedSeconds: number;
  networkGaps: number;
  networkGapSeconds: number;
  micSeconds: number;
  cameraSeconds: number;
  screenSeconds: number;
  transportFailures: number;
}

export interface ParticipantPresence extends PresenceFigures {
  intervals: PresenceInterval[];
  firstJoinAt: Date | null;
  /** When the participant last left; null if never joined or still present. */
  lastLeaveAt: Date | null;
  /** Present (or within the reconnect grace) at `until`. */
  presentNow: boolean;
  /** Connected at `until` (present and not in a network gap). */
  connectedNow: boolean;
}

export interface DeriveOptions {
  reconnectGraceSeconds: number;
  /** Instant at which open intervals are measured (now while live, the freeze instant at finalize). */
  until: Date;
  /** Close whatever is still open at `until` (a suspended interval at its outage's start): used to freeze. */
  close?: boolean;
}

const sec = (d: Date): number => Math.floor(d.getTime() / 1000);
const date = (s: number): Date => new Date(s * 1000);

/** Sorts by time, keeping the log order of events within the same second. */
export function sortEvents<E extends PresenceEvent>(events: readonly E[]): E[] {
  return events.map((e, i) => ({ e, i })).sort((a, b) => sec(a.e.at) - sec(b.e.at) || a.i - b.i).map((x) => x.e);
}

// Kept whole (~150 lines): one state machine over the presence log, read top to bottom; its steps share the interval state.
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
  // The witnesses: in the room at all, the socket, the media.
  let inRoom = false;
  let socketUp = false;
  let mediaState: 'idle' | 'flowing' | 'lost' = 'idle';
  const connected = () => inRoom && (mediaState === 'idle' ? socketUp : mediaState === 'flowing');
  // The last interval: open and connected, suspended (in an outage), or none open.
  let state = 'out' as 'out' | 'in' | 'suspended';
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
    current().to = t;
    state = 'out';
  };
  // A suspended interval whose grace ran out before `t` ended where its outage began.
  const expireGrace = (t: number) => {
    if (state === 'suspended' && t - suspendedAt > grace) endInterval(suspendedAt);
  };
  // After each event: follow the connection into or out of an interval.
  const settle = (t: number) => {
    if (connected()) {
      if (state === 'out') intervals.push({ from: t, to: null, gaps: 0, gapSeconds: 0 });
      else if (state === 'suspended') {
        current().gaps += 1;
        current().gapSeconds += t - suspendedAt;
      }
      if (state !== 'in') {
        state = 'in';
        startMedia(t);
      }
    } else if (state === 'in') {
      stopMedia(t);
      state = 'suspended';
      suspendedAt = t;
    }
  };

  for (const e of sortEvents(events)) {
    const t = sec(e.at);
    if (t > until) break; // the state as of `until`
    expireGrace(t);
    switch (e.type) {
      case 'join':
      case 'reconnect':
        inRoom = true;
        socketUp = true;
        break;
      case 'disconnect':
        socketUp = false;
        break;
      case 'leave':
        if (state === 'in') endInterval(t);
        else if (state === 'suspended') endInterval(suspendedAt);
        inRoom = false;
        socketUp = false;
        mediaState = 'idle';
        active.mic = active.webcam = active.screen = 0;
        paused.mic = paused.webcam = paused.screen = 0;
        break;
      case 'media_flowing':
        mediaState = 'flowing';
        break;
      case 'media_lost':
        if (mediaState !== 'lost' && inRoom) transportFailures += 1;
        mediaState = 'lost';
        break;
      case 'media_idle':
        mediaState = 'idle';
        break;
      case 'producer_started':
        if (e.source && inRoom) {
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
    settle(t);
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

export type QualityLevel = 'excellent' | 'good' | 'poor' | 'lost';

export interface QualityChange {
  level: QualityLevel;
  at: Date;
}

export interface QualityPeriod {
  level: QualityLevel;
  from: Date;
  to: Date;
}

export interface QualitySummary {
  /** Seconds present at each level. */
  seconds: Record<QualityLevel, number>;
  /** The periods below excellent while present ("poor from 14:32 to 14:36"). */
  periods: QualityPeriod[];
}

/**
 * A participant's connection quality over their presence: each level holds
 * from its change to the next one (or `until`), counted only inside the
 * presence intervals (an open one runs to `until`). Whole seconds, like the rest.
 * `changes` are in the order they were logged (not necessarily by `at`).
 */
export function deriveQuality(changes: readonly QualityChange[], intervals: readonly PresenceInterval[], until: Date): QualitySummary {
  const end = sec(until);
  // In log order, a change dated back (rooms dates a media loss to the last
  // packet it saw, noticed seconds later) overrides the levels logged after
  // its instant: those were sampled before the loss was known.
  const sorted: QualityChange[] = [];
  for (const c of changes) {
    while (sorted.length > 0 && sec(sorted[sorted.length - 1]!.at) > sec(c.at)) sorted.pop();
    sorted.push(c);
  }
  const seconds: Record<QualityLevel, number> = { excellent: 0, good: 0, poor: 0, lost: 0 };
  const periods: Array<{ level: QualityLevel; from: number; to: number }> = [];
  for (let i = 0; i < sorted.length; i++) {
    const from = sec(sorted[i]!.at);
    const to = Math.min(end, i + 1 < sorted.length ? sec(sorted[i + 1]!.at) : end);
    const level = sorted[i]!.level;
    for (const iv of intervals) {
      const a = Math.max(from, sec(iv.from));
      const b = Math.min(to, iv.to ? sec(iv.to) : end);
      if (b <= a) continue;
      seconds[level] += b - a;
      if (level === 'excellent') continue;
      const last = periods[periods.length - 1];
      if (last && last.level === level && last.to === a) last.to = b;
      else periods.push({ level, from: a, to: b });
    }
  }
  return { seconds, periods: periods.map((p) => ({ level: p.level, from: date(p.from), to: date(p.to) })) };
}
