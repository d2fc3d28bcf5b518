/**
 * The plan of a recording's composite file (pure: no I/O): which piece of
 * which per-track file shows where and when, and the FFmpeg arguments that
 * render it. The composite's time 0 is the recording's start and its length
 * the recording's wall-clock span, so a moment in the session is the same
 * moment in the file.
 *
 * - Video: a black canvas; each camera or screen segment is cut into pieces
 *   where it is visible (a paused producer is not) and the layout stays the
 *   same; each piece is its own FFmpeg input (`-ss`/`-t` on the file), so no
 *   filter has to hold decoded frames for a piece that starts later.
 *   Layout: a screen share large on the left with the cameras in a column
 *   beside it; without a screen share the cameras in a grid.
 * - Audio: every microphone piece delayed to its offset and mixed
 *   (normalize=0: a voice keeps its level when another track ends); silence
 *   where nobody speaks, so the audio lasts as long as the video.
 * - Chapters: FFmpeg metadata (defence phases, review comments).
 */

export interface PlanSegment {
  id: string;
  userId: string;
  source: string;
  kind: 'audio' | 'video';
  path: string;
  /** Start on the recording timeline (ms after the recording started). */
  offsetMs: number;
  durationMs: number;
  /**
   * The file's start time as FFmpeg reads it (ffprobe's format start_time, ms):
   * the recorder drops the non-key frames before the first keyframe, so a
   * video file's first frame can come after its time 0 (the first packet),
   * and FFmpeg counts `-ss` and timestamps from that first frame. Default 0.
   */
  fileStartMs?: number;
}

export interface PlanGap {
  userId: string;
  source: string;
  fromMs: number;
  toMs: number;
  reason: string;
}

export interface Chapter {
  startMs: number;
  title: string;
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Tile extends Rect {
  segmentId: string;
}

export interface LayoutSpan {
  fromMs: number;
  toMs: number;
  tiles: Tile[];
}

export interface Piece {
  segmentId: string;
  path: string;
  fileStartMs: number;
  kind: 'audio' | 'video';
  /** Where the piece starts in its file (ms). */
  fileFromMs: number;
  /** Where it starts and ends on the composite's timeline (ms). */
  fromMs: number;
  toMs: number;
  rect?: Rect;
}

export interface CompositeOptions {
  width: number;
  height: number;
  fps: number;
  /** libx264 preset and CRF. */
  preset: string;
  crf: number;
  audioBitrate: string;
}

export const DEFAULT_COMPOSITE_OPTIONS: CompositeOptions = { width: 1280, height: 720, fps: 25, preset: 'veryfast', crf: 27, audioBitrate: '96k' };

/** Pieces shorter than this are left out (a layout flicker, not content). */
const MIN_PIECE_MS = 40;

/** Even sizes (yuv420p) of at least 2, and even positions from 0. */
const even = (n: number) => Math.max(2, Math.floor(n / 2) * 2);
const evenAt = (n: number) => Math.max(0, Math.floor(n / 2) * 2);

/** Intervals of [from, to) minus the `holes`. */
function subtract(from: number, to: number, holes: Array<{ fromMs: number; toMs: number }>): Array<[number, number]> {
  let parts: Array<[number, number]> = [[from, to]];
  for (const hole of holes) {
    parts = parts.flatMap(([a, b]): Array<[number, number]> => {
      if (hole.toMs <= a || hole.fromMs >= b) return [[a, b]];
      const out: Array<[number, number]> = [];
      if (hole.fromMs > a) out.push([a, hole.fromMs]);
      if (hole.toMs < b) out.push([hole.toMs, b]);
      return out;
    });
  }
  return parts.filter(([a, b]) => b - a >= MIN_PIECE_MS);
}

/** When each segment has media on the timeline: its span within the recording, less its producer's pauses. */
export function visibleIntervals(durationMs: number, segments: PlanSegment[], gaps: PlanGap[]): Map<string, Array<[number, number]>> {
  const out = new Map<string, Array<[number, number]>>();
  for (const s of segments) {
    const from = Math.max(0, s.offsetMs);
    const to = Math.min(durationMs, s.offsetMs + s.durationMs);
    if (to <= from) continue;
    const pauses = gaps.filter((g) => g.reason === 'paused' && g.userId === s.userId && g.source === s.source);
    const parts = subtract(from, to, pauses);
    if (parts.length > 0) out.set(s.id, parts);
  }
  return out;
}

/** Rectangles for what is visible at once: a screen large with cameras beside it, or cameras in a grid. */
export function arrange(visible: PlanSegment[], width: number, height: number): Tile[] {
  const screens = visible.filter((s) => s.source === 'screen');
  const cameras = visible.filter((s) => s.source !== 'screen');
  if (screens.length > 0) {
    // One screen share at a time in a room; a second (a hand-over moment) joins the side column.
    const [main, ...others] = screens;
    const side = [...cameras, ...others];
    if (side.length === 0) return [{ segmentId: main!.id, x: 0, y: 0, w: width, h: height }];
    const sideW = even(width / 4);
    const mainW = width - sideW;
    const cellH = even(Math.min(height / side.length, (sideW * 3) / 4));
    const top = evenAt((height - cellH * side.length) / 2);
    return [
      { segmentId: main!.id, x: 0, y: 0, w: mainW, h: height },
      ...side.map((s, i) => ({ segmentId: s.id, x: mainW, y: top + i * cellH, w: sideW, h: cellH })),
    ];
  }
  if (cameras.length === 0) return [];
  const cols = Math.ceil(Math.sqrt(cameras.length));
  const rows = Math.ceil(cameras.length / cols);
  const w = even(width / cols);
  const h = even(height / rows);
  return cameras.map((s, i) => {
    const row = Math.floor(i / cols);
    // The last row is centred when it is not full.
    const inRow = row === rows - 1 ? cameras.length - row * cols : cols;
    const left = evenAt((width - inRow * w) / 2);
    return { segmentId: s.id, x: left + (i % cols) * w, y: row * h, w, h };
  });
}

/** The layout over time: spans in which the same tiles show. */
export function layoutTimeline(durationMs: number, segments: PlanSegment[], gaps: PlanGap[], width: number, height: number): LayoutSpan[] {
  const video = segments.filter((s) => s.kind === 'video');
  const visible = visibleIntervals(durationMs, video, gaps);
  const edges = new Set<number>([0, durationMs]);
  for (const parts of visible.values()) for (const [a, b] of parts) edges.add(a).add(b);
  const points = [...edges].sort((a, b) => a - b);
  // A stable order: by when a track first appears, then by user and source.
  const order = [...video].sort((a, b) => a.offsetMs - b.offsetMs || a.userId.localeCompare(b.userId) || a.source.localeCompare(b.source));
  const spans: LayoutSpan[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const [from, to] = [points[i]!, points[i + 1]!];
    if (to <= from) continue;
    const here = order.filter((s) => (visible.get(s.id) ?? []).some(([a, b]) => a <= from && b >= to));
    const tiles = arrange(here, width, height);
    const last = spans[spans.length - 1];
    if (last && last.toMs === from && JSON.stringify(last.tiles) === JSON.stringify(tiles)) last.toMs = to;
    else spans.push({ fromMs: from, toMs: to, tiles });
  }
  return spans;
}

/** Every piece of media the composite shows or plays, in timeline order. */
export function pieces(durationMs: number, segments: PlanSegment[], gaps: PlanGap[], width: number, height: number): Piece[] {
  const byId = new Map(segments.map((s) => [s.id, s]));
  const out: Piece[] = [];
  // Video: one piece per segment and span of unchanged rectangle.
  const open = new Map<string, Piece>();
  for (const span of layoutTimeline(durationMs, segments, gaps, width, height)) {
    const here = new Set<string>();
    for (const tile of span.tiles) {
      here.add(tile.segmentId);
      const { segmentId, ...rect } = tile;
      const current = open.get(segmentId);
      if (current && current.toMs === span.fromMs && JSON.stringify(current.rect) === JSON.stringify(rect)) {
        current.toMs = span.toMs;
        continue;
      }
      const seg = byId.get(segmentId)!;
      const piece: Piece = { segmentId, path: seg.path, fileStartMs: seg.fileStartMs ?? 0, kind: 'video', fileFromMs: span.fromMs - seg.offsetMs, fromMs: span.fromMs, toMs: span.toMs, rect };
      out.push(piece);
      open.set(segmentId, piece);
    }
    for (const id of [...open.keys()]) if (!here.has(id)) open.delete(id);
  }
  // Audio: one piece per unpaused stretch of each segment.
  const audio = segments.filter((s) => s.kind === 'audio');
  for (const [segmentId, parts] of visibleIntervals(durationMs, audio, gaps)) {
    const seg = byId.get(segmentId)!;
    for (const [a, b] of parts) out.push({ segmentId, path: seg.path, fileStartMs: seg.fileStartMs ?? 0, kind: 'audio', fileFromMs: a - seg.offsetMs, fromMs: a, toMs: b });
  }
  return out.filter((p) => p.toMs - p.fromMs >= MIN_PIECE_MS).sort((a, b) => a.fromMs - b.fromMs || a.kind.localeCompare(b.kind));
}

const sec = (ms: number) => (ms / 1000).toFixed(3);

/** FFmpeg metadata file (FFMETADATA1) with one chapter per mark, each lasting until the next. */
export function chaptersMetadata(durationMs: number, chapters: Chapter[]): string {
  const escape = (s: string) => s.replace(/[\\=;#\n]/g, (c) => (c === '\n' ? ' ' : `\\${c}`));
  const marks = chapters
    .filter((c) => c.startMs >= 0 && c.startMs < durationMs)
    .sort((a, b) => a.startMs - b.startMs);
  const lines = [';FFMETADATA1'];
  marks.forEach((c, i) => {
    // Chapters need increasing starts: marks at the same millisecond are spread by 1 ms.
    const start = Math.max(c.startMs, i > 0 ? marks[i - 1]!.startMs + 1 : 0);
    marks[i] = { ...c, startMs: start };
  });
  marks.forEach((c, i) => {
    const end = i + 1 < marks.length ? marks[i + 1]!.startMs : durationMs;
    if (end <= c.startMs) return;
    lines.push('[CHAPTER]', 'TIMEBASE=1/1000', `START=${Math.round(c.startMs)}`, `END=${Math.round(end)}`, `title=${escape(c.title)}`);
  });
  return `${lines.join('\n')}\n`;
}

export interface CompositeCommand {
  args: string[];
  pieces: Piece[];
}

/**
 * The FFmpeg command rendering the composite into `outPath` (MP4, H.264 +
 * AAC, faststart) with the chapters read from `chaptersPath`.
 */
export function compositeCommand(input: {
  durationMs: number;
  segments: PlanSegment[];
  gaps: PlanGap[];
  chaptersPath: string;
  outPath: string;
  options?: Partial<CompositeOptions>;
}): CompositeCommand {
  const o = { ...DEFAULT_COMPOSITE_OPTIONS, ...input.options };
  const D = sec(input.durationMs);
  const all = pieces(input.durationMs, input.segments, input.gaps, o.width, o.height);
  // -benchmark prints the process's CPU time at the end (read from stderr, at level info).
  const args = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info', '-benchmark', '-progress', 'pipe:1', '-stats_period', '1'];
  const filters: string[] = [];
  filters.push(`color=c=black:s=${o.width}x${o.height}:r=${o.fps}:d=${D},format=yuv420p[base0]`);
  let base = 'base0';
  const mix: string[] = [];
  const inputs = all
    .map((p) => {
      // FFmpeg counts `-ss` from the file's first frame (fileStartMs into it): a piece that starts before it
      // starts reading there, and its media is placed where that frame belongs on the timeline.
      const late = Math.max(0, p.fileStartMs - p.fileFromMs);
      return { ...p, seekMs: Math.max(0, p.fileFromMs - p.fileStartMs), placeMs: p.fromMs + late, readMs: p.toMs - p.fromMs - late };
    })
    .filter((p) => p.readMs >= MIN_PIECE_MS);
  inputs.forEach((p, i) => {
    // A screen share may change size mid-file: the scale filter follows it (no graph re-init, which would restart the canvas).
    args.push('-reinit_filter', '0', '-ss', sec(p.seekMs), '-t', sec(p.readMs), '-i', p.path);
    if (p.kind === 'video') {
      const r = p.rect!;
      filters.push(
        `[${i}:v:0]setpts=PTS+${sec(p.placeMs)}/TB,scale=${r.w}:${r.h}:force_original_aspect_ratio=decrease,` +
          `pad=${r.w}:${r.h}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p[p${i}]`,
      );
      const next = `base${i + 1}`;
      filters.push(`[${base}][p${i}]overlay=x=${r.x}:y=${r.y}:eof_action=pass:repeatlast=0[${next}]`);
      base = next;
    } else {
      filters.push(
        `[${i}:a:0]aresample=48000:async=1:first_pts=0,aformat=sample_fmts=fltp:channel_layouts=stereo,` +
          `adelay=delays=${Math.round(p.placeMs)}:all=1[a${i}]`,
      );
      mix.push(`[a${i}]`);
    }
  });
  filters.push(`[${base}]null[v]`);
  if (mix.length === 0) filters.push(`anullsrc=r=48000:cl=stereo,atrim=end=${D}[a]`);
  else filters.push(`${mix.join('')}amix=inputs=${mix.length}:duration=longest:dropout_transition=0:normalize=0,apad,atrim=end=${D}[a]`);
  const chaptersInput = inputs.length;
  args.push('-f', 'ffmetadata', '-i', input.chaptersPath);
  args.push(
    '-filter_complex', filters.join(';'),
    '-map', '[v]', '-map', '[a]',
    '-map_metadata', String(chaptersInput), '-map_chapters', String(chaptersInput),
    '-c:v', 'libx264', '-preset', o.preset, '-crf', String(o.crf), '-pix_fmt', 'yuv420p', '-g', String(o.fps * 2),
    '-c:a', 'aac', '-b:a', o.audioBitrate, '-ac', '2', '-ar', '48000',
    '-t', D,
    '-movflags', '+faststart',
    '-f', 'mp4', '-y', input.outPath,
  );
  return { args, pieces: all };
}
