/**
 * The integrity report of a recording (pure: no I/O). It compares what should
 * have been recorded (the recording's span, and the session's scheduled time)
 * with what was: per track (a participant's mic, webcam or screen) the
 * recorded time, the gaps (pauses, dead recorders, holes between segments),
 * the segments that are unplayable, and the participants with no media.
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
  gaps: ReportGap[];
}

export interface IntegrityReport {
  scheduledMs: number;
  /** Wall-clock span of the recording. */
  expectedMs: number;
  /** Longest recorded track time (sum of playable segment durations). */
  recordedMs: number;
  /** Part of the scheduled session covered by the recording span (0..1). */
  sessionCoverage: number;
  stopReason: string | null;
  tracks: Array<{
    userId: string;
    source: string;
    kind: 'audio' | 'video';
    segments: number;
    recordedMs: number;
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

export function integrityReport(input: ReportInput): IntegrityReport {
  const { session, recording } = input;
  const start = recording.startedAt.getTime();
  const stop = (recording.stoppedAt ?? recording.startedAt).getTime();
  const offset = (d: Date) => Math.max(0, d.getTime() - start);
  const playable = (s: ReportSegment) => s.status === 'ready' && s.startedAt !== null;

  const tracks = new Map<string, ReportSegment[]>();
  for (const s of input.segments) {
    const key = `${s.userId}\u0000${s.source}\u0000${s.kind}`;
    tracks.set(key, [...(tracks.get(key) ?? []), s]);
  }

  const gaps: IntegrityReport['gaps'] = input.gaps.map((g) => ({
    userId: g.userId,
    source: g.source,
    fromOffsetMs: offset(g.fromAt),
    toOffsetMs: offset(g.toAt),
    durationMs: Math.max(0, g.toAt.getTime() - g.fromAt.getTime()),
    reason: g.reason,
  }));

  const trackRows: IntegrityReport['tracks'] = [];
  for (const segments of tracks.values()) {
    const first = segments[0]!;
    const ok = segments.filter(playable).sort((a, b) => a.startedAt!.getTime() - b.startedAt!.getTime());
    const recordedMs = ok.reduce((sum, s) => sum + (s.durationMs ?? 0), 0);
    // Holes between consecutive playable segments (a replaced producer, a rebuilt router) not already explained by a gap record.
    for (let i = 1; i < ok.length; i++) {
      const prevEnd = ok[i - 1]!.startedAt!.getTime() + (ok[i - 1]!.durationMs ?? 0);
      const nextStart = ok[i]!.startedAt!.getTime();
      if (nextStart - prevEnd <= HOLE_TOLERANCE_MS) continue;
      const explained = input.gaps.some(
        (g) => g.userId === first.userId && g.source === first.source && g.fromAt.getTime() <= nextStart && g.toAt.getTime() >= prevEnd,
      );
      if (!explained) {
        gaps.push({
          userId: first.userId,
          source: first.source,
          fromOffsetMs: offset(new Date(prevEnd)),
          toOffsetMs: offset(new Date(nextStart)),
          durationMs: nextStart - prevEnd,
          reason: 'between_segments',
        });
      }
    }
    const last = ok[ok.length - 1];
    trackRows.push({
      userId: first.userId,
      source: first.source,
      kind: first.kind,
      segments: segments.length,
      recordedMs,
      firstOffsetMs: ok[0] ? offset(ok[0].startedAt!) : null,
      lastEndOffsetMs: last ? offset(new Date(last.startedAt!.getTime() + (last.durationMs ?? 0))) : null,
    });
  }
  gaps.sort((a, b) => a.fromOffsetMs - b.fromOffsetMs);

  const unplayableSegments = input.segments
    .filter((s) => !playable(s))
    .map((s) => ({ segmentId: s.id, userId: s.userId, source: s.source, status: s.status }));

  const missingTracks: IntegrityReport['missingTracks'] = [];
  for (const p of input.participants) {
    const kinds = new Set(trackRows.filter((t) => t.userId === p.userId && t.recordedMs > 0).map((t) => t.kind));
    const missing = (['audio', 'video'] as const).filter((k) => !kinds.has(k));
    if (missing.length > 0) missingTracks.push({ userId: p.userId, role: p.role, missing });
  }

  const scheduledMs = session.endsAt.getTime() - session.startsAt.getTime();
  const overlap = Math.max(0, Math.min(stop, session.endsAt.getTime()) - Math.max(start, session.startsAt.getTime()));
  const failures = gaps.some((g) => g.reason === 'recorder_died' || g.reason === 'start_failed');
  return {
    scheduledMs,
    expectedMs: stop - start,
    recordedMs: trackRows.reduce((max, t) => Math.max(max, t.recordedMs), 0),
    sessionCoverage: scheduledMs > 0 ? Math.round((overlap / scheduledMs) * 1000) / 1000 : 0,
    stopReason: recording.stopReason,
    tracks: trackRows,
    gaps,
    unplayableSegments,
    missingTracks,
    ok: unplayableSegments.length === 0 && !failures && missingTracks.every((m) => !m.missing.includes('audio')),
  };
}
