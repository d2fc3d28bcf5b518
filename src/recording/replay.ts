/**
 * What the replay page shows around a recording's video, all as offsets on
 * the recording's timeline (ms after it started, the composite's time):
 * when each participant was in the room, when each track has media, the gaps,
 * the defence phases and the code-review comments.
 */
import type { Db } from '../db/index.ts';
import { reviewOf } from '../codereview/index.ts';
import { defencePhasesOf } from '../progression/index.ts';
import { getSession, listParticipants, type Session } from '../sessions/index.ts';
import { visibleIntervals } from './composite-plan.ts';
import { timelineOf, type CompositeView } from './composite.ts';
import type { RecordingView } from './service.ts';

export interface Span {
  fromMs: number;
  toMs: number;
}

export interface ReplayView {
  recordingId: string;
  sessionId: string;
  sessionKind: Session['kind'];
  startedAt: string;
  durationMs: number;
  composite: CompositeView;
  participants: Array<{ userId: string; name: string; role: string; presence: Span[] }>;
  tracks: Array<{ userId: string; source: string; kind: 'audio' | 'video'; spans: Span[] }>;
  gaps: Array<Span & { userId: string; source: string; reason: string }>;
  phases: Array<Span & { phase: string }>;
  comments: Array<{ id: string; parentId: string | null; authorName: string; documentName: string; line: number; body: string; offsetMs: number; resolved: boolean }>;
}

/** Presence intervals of a session's participants (the attendance capability's, when registered). */
export type PresenceSource = (session: Session) => Promise<Array<{ userId: string; intervals: Array<{ from: string; to: string | null }> }>>;

export async function replayOf(deps: { db: Db; presence?: PresenceSource | undefined }, recording: RecordingView, composite: CompositeView): Promise<ReplayView> {
  const { db } = deps;
  const start = Date.parse(recording.startedAt);
  const timeline = timelineOf(recording, '');
  const D = timeline.durationMs;
  const clip = (fromMs: number, toMs: number): Span | undefined => {
    const a = Math.max(0, fromMs);
    const b = Math.min(D, toMs);
    return b > a ? { fromMs: a, toMs: b } : undefined;
  };
  const session = await getSession(db, recording.sessionId);
  const people = (await listParticipants(db, session.id)).filter((p) => p.role !== 'observer');
  const presence = deps.presence ? await deps.presence(session).catch(() => []) : [];
  const participants = people.map((p) => ({
    userId: p.userId,
    name: p.name,
    role: p.role,
    presence: (presence.find((x) => x.userId === p.userId)?.intervals ?? [])
      .map((i) => clip(Date.parse(i.from) - start, i.to ? Date.parse(i.to) - start : D))
      .filter((s): s is Span => s !== undefined),
  }));

  const visible = visibleIntervals(D, timeline.segments, timeline.gaps);
  const tracks = new Map<string, ReplayView['tracks'][number]>();
  for (const s of timeline.segments) {
    const key = `${s.userId}\u0000${s.source}\u0000${s.kind}`;
    const track = tracks.get(key) ?? { userId: s.userId, source: s.source, kind: s.kind, spans: [] };
    for (const [fromMs, toMs] of visible.get(s.id) ?? []) track.spans.push({ fromMs, toMs });
    tracks.set(key, track);
  }

  const gaps = (recording.report?.gaps ?? timeline.gaps.map((g) => ({ ...g, fromOffsetMs: g.fromMs, toOffsetMs: g.toMs })))
    .map((g) => {
      const span = clip(g.fromOffsetMs, g.toOffsetMs);
      return span && { ...span, userId: g.userId, source: g.source, reason: g.reason };
    })
    .filter((g): g is NonNullable<typeof g> => Boolean(g));

  const marks = (await defencePhasesOf(db, session.id)).map((p) => ({ phase: p.phase as string, at: p.at.getTime() - start }));
  const phases: ReplayView['phases'] = [];
  marks.forEach((m, i) => {
    const next = marks[i + 1]?.at ?? D;
    const span = clip(m.at, next);
    if (span && m.phase !== 'completed') phases.push({ ...span, phase: m.phase });
  });

  const review = await reviewOf(db, session.id);
  const docs = new Map(review.documents.map((d) => [d.id, d.name]));
  const roots = new Map(review.comments.filter((c) => c.parentId === null).map((c) => [c.id, c]));
  const comments = review.comments
    .map((c) => ({
      id: c.id,
      parentId: c.parentId,
      authorName: c.authorName,
      documentName: docs.get(c.documentId) ?? '',
      line: c.line,
      body: c.body,
      offsetMs: Date.parse(c.createdAt) - start,
      resolved: Boolean(roots.get(c.parentId ?? c.id)?.resolvedAt),
    }))
    .filter((c) => c.offsetMs >= 0 && c.offsetMs <= D)
    .sort((a, b) => a.offsetMs - b.offsetMs);

  return {
    recordingId: recording.id,
    sessionId: session.id,
    sessionKind: session.kind,
    startedAt: recording.startedAt,
    durationMs: D,
    composite,
    participants,
    tracks: [...tracks.values()],
    gaps,
    phases,
    comments,
  };
}
