/**
 * The integrity report of a recording (pure: no I/O). It compares what should
 * have been recorded (the recording's span, and the session's scheduled time)
 * with what was: per track (a participant's mic, webcam or screen) the time
 * really recorded, every hole, the segments that are unplayable, and the
 * participants with no media.
 *
 * Holes come from the files themselves: post-processing reads each file's
 * packet times (ffprobe) and gives the stretches with no packet inside a
 * segment (`ReportSegment.holes`) and where its media really ends
 * (`mediaEndAt`); the report adds the holes between consecutive segments of a
 * track. Nothing in a hole counts as recorded. Each hole is named by what the
 * server knew of that moment (the evidence: gap rows, segment end reasons):
 *
 * | reason                | cause                                                        |
 * |-----------------------|--------------------------------------------------------------|
 * | `participant_network` | the participant's media stopped arriving (their network)     |
 * | `worker_restart`      | the media worker died; the room was rebuilt and they re-sent |
 * | `node_lost`           | the node holding the room died; another node rebuilt it and  |
 * |                       | went on recording in new segments                            |
 * | `recorder_died`       | the recorder (FFmpeg) died or stalled and was replaced       |
 * | `paused`              | the producer was paused (mic muted, camera off)              |
 * | `layer_switch`        | the recorded simulcast layer stopped; another one took over  |
 * | `start_failed`        | a recorder could not start                                   |
 * | `between_segments`    | between two producers of the track (e.g. a camera replaced)  |
 * | `no_media`            | nothing arrived and the server knows no reason               |
 *
 * Gap rows that no file hole matches (a pause shorter than a hole, or files
 * without packet times) are listed as they are.
 */
export interface ReportSegment {
  id: string;
  userId: string;
  source: string;
  kind: 'audio' | 'video';
  startedAt: Date | null;
  endedAt: Date | null;
  durationMs: number | null;
  status: string;
  /** Why the segment ended (stopped, producer_closed, router_closed, recorder_died, …). */
  endReason?: string | null | undefined;
  /** Stretches with no packet inside the file, in wall-clock time (from its packet times). */
  holes?: Array<{ from: Date; to: Date }> | undefined;
  /** Wall-clock end of the last packet in the file (default: startedAt + durationMs). */
  mediaEndAt?: Date | null | undefined;
}

export interface ReportGap {
  userId: string;
  source: string;
  fromAt: Date;
  toAt: Date;
  reason: string;
}

export interface ReportInput {
  session: { startsAt: Date; endsAt: Date };
  recording: { startedAt: Date; stoppedAt: Date | null; stopReason: string | null };
  /** People expected on the recording (students, mentors, jury; not observers). */
  participants: Array<{ userId: string; role: string }>;
  segments: ReportSegment[];
  /** Gap rows: explicit gaps of a track (paused, recorder_died, start_failed), markers (layer_switch), and a participant's network outages (source `all`). */
  gaps: ReportGap[];
}

export interface IntegrityReport {
  scheduledMs: number;
  /** Wall-clock span of the recording. */
  expectedMs: number;
  /** Longest recorded track time (playable segment durations less the holes inside them). */
  recordedMs: number;
  /** Part of the scheduled session covered by the recording span (0..1). */
  sessionCoverage: number;
  stopReason: string | null;
  tracks: Array<{
    userId: string;
    source: string;
    kind: 'audio' | 'video';
    segments: number;
    /** Time really recorded: the segments' durations less the holes inside them. */
    recordedMs: number;
    /** Time lost to holes inside the files. */
    holeMs: number;
    firstOffsetMs: number | null;
    lastEndOffsetMs: number | null;
  }>;
  gaps: Array<{ userId: string; source: string; fromOffsetMs: number; toOffsetMs: number; durationMs: number; reason: string }>;
  unplayableSegments: Array<{ segmentId: string; userId: string; source: string; status: string }>;
  missingTracks: Array<{ userId: string; role: string; missing: Array<'audio' | 'video'> }>;
  /** No unplayable segment, no recorder failure, every participant's audio present. */
  ok: boolean;
}

/** Holes shorter than this between two segments of a track are not reported. */
const HOLE_TOLERANCE_MS = 250;
/** A layer switch names a hole it ends within this long after (the new layer's first keyframe). */
const LAYER_SWITCH_REACH_MS = 2500;

/** Evidence whose interval names the holes it overlaps; `track` evidence must be of the hole's track. */
const TRACK_REASONS = new Set(['paused', 'recorder_died', 'start_failed']);

/** Packet holes inside one file: stretches longer than `minHoleMs` with no packet (times in ms of the file). */
export function packetHoles(packets: ReadonlyArray<{ ptsMs: number; durationMs: number }>, minHoleMs: number): Array<{ fromMs: number; toMs: number }> {
  const sorted = [...packets].sort((a, b) => a.ptsMs - b.ptsMs);
  const holes: Array<{ fromMs: number; toMs: number }> = [];
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const next = sorted[i]!;
    if (next.ptsMs - prev.ptsMs > minHoleMs) holes.push({ fromMs: prev.ptsMs + prev.durationMs, toMs: next.ptsMs });
  }
  return holes;
}

type Extra = Array<{ reason: string; from: number; to: number }>;
const overlap = (a0: number, a1: number, b0: number, b1: number) => Math.min(a1, b1) - Math.max(a0, b0);

/**
 * The cause of a hole [from, to] (ms) of a user's track, from the evidence
 * around it (the recording's gaps, and `extra` known to the caller). Every
 * explicit gap of this track overlapping the hole is added to `explained`.
 */
function holeCause(evidence: readonly ReportGap[], explained: Set<ReportGap>, hole: { userId: string; source: string; from: number; to: number }, fallback: string, extra: Extra): string {
  const { userId, source, from, to } = hole;
  let best: { reason: string; overlap: number; row?: ReportGap } | undefined;
  const consider = (reason: string, f: number, t: number, row?: ReportGap) => {
    const o = overlap(from, to, f, t);
    if (o < 0 || (o === 0 && !(f === t))) return;
    if (!best || o > best.overlap) best = { reason, overlap: o, ...(row ? { row } : {}) };
  };
  for (const g of evidence) {
    if (g.userId !== userId) continue;
    const f = g.fromAt.getTime();
    const t = g.toAt.getTime();
    if (g.reason === 'participant_network' || g.reason === 'node_lost') consider(g.reason, f, t, g);
    else if (g.source !== source) continue;
    else if (g.reason === 'layer_switch') {
      // A marker: the switch that ended the hole (the new layer came with a keyframe).
      if (f >= from && f <= to + LAYER_SWITCH_REACH_MS) consider(g.reason, from, to, g);
    } else if (TRACK_REASONS.has(g.reason)) consider(g.reason, f, t, g);
  }
  for (const e of extra) consider(e.reason, e.from, e.to);
  for (const g of evidence) {
    if (g.userId === userId && g.source === source && TRACK_REASONS.has(g.reason) && overlap(from, to, g.fromAt.getTime(), g.toAt.getTime()) >= 0) explained.add(g);
  }
  return best?.reason ?? fallback;
}

/** The segments of each track (one user's source and kind), in log order. */
function tracksOf(segments: readonly ReportSegment[]): ReportSegment[][] {
  const tracks = new Map<string, ReportSegment[]>();
  for (const s of segments) {
    const key = `${s.userId}\u0000${s.source}\u0000${s.kind}`;
    tracks.set(key, [...(tracks.get(key) ?? []), s]);
  }
  return [...tracks.values()];
}

/**
 * The recording's gaps that no file hole shows, listed as they are: explicit
 * track gaps no hole accounts for, and a node lost with no hole to show it
 * (the recording closed by a survivor after the node died and nobody came back:
 * the gap runs from the dead recorder's last progress to the end).
 */
function gapsWithoutHoles(evidence: readonly ReportGap[], explained: ReadonlySet<ReportGap>, listed: IntegrityReport['gaps'], offset: (ms: number) => number): IntegrityReport['gaps'] {
  const out: IntegrityReport['gaps'] = [];
  for (const g of evidence) {
    if (!TRACK_REASONS.has(g.reason) || explained.has(g)) continue;
    out.push({
      userId: g.userId,
      source: g.source,
      fromOffsetMs: offset(g.fromAt.getTime()),
      toOffsetMs: offset(g.toAt.getTime()),
      durationMs: Math.max(0, g.toAt.getTime() - g.fromAt.getTime()),
      reason: g.reason,
    });
  }
  for (const g of evidence) {
    if (g.reason !== 'node_lost') continue;
    const from = offset(g.fromAt.getTime());
    const to = offset(g.toAt.getTime());
    if ([...listed, ...out].some((x) => x.userId === g.userId && x.reason === 'node_lost' && Math.min(x.toOffsetMs, to) >= Math.max(x.fromOffsetMs, from))) continue;
    out.push({ userId: g.userId, source: g.source, fromOffsetMs: from, toOffsetMs: to, durationMs: Math.max(0, to - from), reason: g.reason });
  }
  return out;
}

/** The participants with no audio or no video recorded at all. */
function missingTracksOf(participants: ReportInput['participants'], tracks: IntegrityReport['tracks']): IntegrityReport['missingTracks'] {
  const missingTracks: IntegrityReport['missingTracks'] = [];
  for (const p of participants) {
    const kinds = new Set(tracks.filter((t) => t.userId === p.userId && t.recordedMs > 0).map((t) => t.kind));
    const missing = (['audio', 'video'] as const).filter((k) => !kinds.has(k));
    if (missing.length > 0) missingTracks.push({ userId: p.userId, role: p.role, missing });
  }
  return missingTracks;
}

export function integrityReport(input: ReportInput): IntegrityReport {
  const { session, recording } = input;
  const start = recording.startedAt.getTime();
  const stop = (recording.stoppedAt ?? recording.startedAt).getTime();
  const offset = (ms: number) => Math.max(0, ms - start);
  const playable = (s: ReportSegment) => s.status === 'ready' && s.startedAt !== null;
  const mediaEnd = (s: ReportSegment) => s.mediaEndAt?.getTime() ?? s.startedAt!.getTime() + (s.durationMs ?? 0);

  const gaps: IntegrityReport['gaps'] = [];
  // The track's explicit gaps that a hole in its files accounts for (causeOf adds them).
  const explained = new Set<ReportGap>();
  const causeOf = (userId: string, source: string, from: number, to: number, fallback: string, extra: Extra = []) =>
    holeCause(input.gaps, explained, { userId, source, from, to }, fallback, extra);

  const trackRows: IntegrityReport['tracks'] = [];
  for (const segments of tracksOf(input.segments)) {
    const first = segments[0]!;
    const ok = segments.filter(playable).sort((a, b) => a.startedAt!.getTime() - b.startedAt!.getTime());
    let holeMs = 0;
    // Holes inside the files.
    for (const s of ok) {
      for (const h of s.holes ?? []) {
        const from = h.from.getTime();
        const to = h.to.getTime();
        holeMs += to - from;
        const reason = causeOf(first.userId, first.source, from, to, 'no_media');
        gaps.push({ userId: first.userId, source: first.source, fromOffsetMs: offset(from), toOffsetMs: offset(to), durationMs: to - from, reason });
      }
    }
    // Holes between consecutive segments (a replaced producer, a rebuilt router, a replaced recorder).
    for (let i = 1; i < ok.length; i++) {
      const prev = ok[i - 1]!;
      const prevEnd = mediaEnd(prev);
      const nextStart = ok[i]!.startedAt!.getTime();
      if (nextStart - prevEnd <= HOLE_TOLERANCE_MS) continue;
      const extra = prev.endReason === 'router_closed' ? [{ reason: 'worker_restart', from: prev.endedAt?.getTime() ?? prevEnd, to: nextStart }] : [];
      const reason = causeOf(first.userId, first.source, prevEnd, nextStart, 'between_segments', extra);
      gaps.push({ userId: first.userId, source: first.source, fromOffsetMs: offset(prevEnd), toOffsetMs: offset(nextStart), durationMs: nextStart - prevEnd, reason });
    }
    const recordedMs = ok.reduce((sum, s) => sum + (s.durationMs ?? 0), 0) - holeMs;
    const last = ok[ok.length - 1];
    trackRows.push({
      userId: first.userId,
      source: first.source,
      kind: first.kind,
      segments: segments.length,
      recordedMs,
      holeMs,
      firstOffsetMs: ok[0] ? offset(ok[0].startedAt!.getTime()) : null,
      lastEndOffsetMs: last ? offset(mediaEnd(last)) : null,
    });
  }
  gaps.push(...gapsWithoutHoles(input.gaps, explained, gaps, offset));
  gaps.sort((a, b) => a.fromOffsetMs - b.fromOffsetMs);

  const unplayableSegments = input.segments
    .filter((s) => !playable(s))
    .map((s) => ({ segmentId: s.id, userId: s.userId, source: s.source, status: s.status }));

  const missingTracks = missingTracksOf(input.participants, trackRows);

  const scheduledMs = session.endsAt.getTime() - session.startsAt.getTime();
  const covered = Math.max(0, Math.min(stop, session.endsAt.getTime()) - Math.max(start, session.startsAt.getTime()));
  const failures = gaps.some((g) => g.reason === 'recorder_died' || g.reason === 'start_failed');
  return {
    scheduledMs,
    expectedMs: stop - start,
    recordedMs: trackRows.reduce((max, t) => Math.max(max, t.recordedMs), 0),
    sessionCoverage: scheduledMs > 0 ? Math.round((covered / scheduledMs) * 1000) / 1000 : 0,
    stopReason: recording.stopReason,
    tracks: trackRows,
    gaps,
    unplayableSegments,
    missingTracks,
    ok: unplayableSegments.length === 0 && !failures && missingTracks.every((m) => !m.missing.includes('audio')),
  };
}
