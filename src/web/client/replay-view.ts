/**
 * Watching a recording again (#/sessions/<id>/recordings/<rid>): the composite
 * video (through a signed link, so the video element streams it with Range
 * requests), a timeline with the defence phases, who was in the room, the
 * gaps and the review comments, and the comment list, which follows the
 * playhead; clicking a comment (or the timeline) seeks there. While the
 * composite is being made, its progress shows instead of the video.
 * Also the list of a session's recordings (#/sessions/<id>/recordings).
 */
import { getBlob, getJson, sendJson, type User } from './api.ts';
import { clear, h } from './dom.ts';
import { t, type MessageKey } from './i18n.ts';
import { formatDateTime } from './time.ts';
import type { ReplayView } from '../../recording/replay.ts';
import type { RecordingView } from '../../recording/service.ts';
import { integritySummary } from './integrity.ts';

export interface Screen {
  element: HTMLElement;
  dispose(): Promise<void>;
}

declare global {
  interface Window {
    /** The replay page's state (for diagnostics and the browser test). */
    mlReplay?: { replay: ReplayView; video: HTMLVideoElement | undefined };
  }
}

/** m:ss or h:mm:ss of a position in the recording. */
export function formatPosition(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(total / 3600);
  const mm = Math.floor((total % 3600) / 60);
  const ss = String(total % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** The comment the playhead is at: the last one written at or before it. */
export function currentComment(comments: ReadonlyArray<{ offsetMs: number }>, positionMs: number): number {
  let index = -1;
  comments.forEach((c, i) => {
    if (c.offsetMs <= positionMs + 250) index = i;
  });
  return index;
}

const gapLabel = (reason: string) => {
  const key = `replay.gap.${reason}` as MessageKey;
  return ['paused', 'recorder_died', 'between_segments'].includes(reason) ? t(key) : t('replay.gap.other');
};

export function recordingsListView(sessionId: string, user: User): Screen {
  const list = h('ul', { class: 'sessions', id: 'recordings-list', 'aria-busy': 'true' });
  void Promise.all([
    getJson<RecordingView[]>(`/sessions/${sessionId}/recordings`),
    // Names for the integrity reports (who is missing); the list shows without them if this fails.
    getJson<{ participants: Array<{ userId: string; name: string }> }>(`/sessions/${sessionId}`).catch(() => ({ participants: [] })),
  ]).then(
    ([recordings, session]) => {
      const names = new Map(session.participants.map((p) => [p.userId, p.name]));
      list.removeAttribute('aria-busy');
      if (recordings.length === 0) list.append(h('li', { class: 'muted' }, t('replay.noRecordings')));
      for (const r of recordings) {
        list.append(
          h(
            'li',
            { class: 'session', 'data-recording-id': r.id },
            h('h3', {}, t('replay.title', { date: formatDateTime(r.startedAt, user.timeZone) })),
            r.status === 'ready' ? h('a', { class: 'button', href: `#/sessions/${sessionId}/recordings/${r.id}` }, t('replay.watch')) : h('p', { class: 'muted' }, r.status),
            integritySummary(r.report, names),
          ),
        );
      }
    },
    () => {
      list.removeAttribute('aria-busy');
      list.append(h('li', { class: 'muted' }, t('replay.unavailable')));
    },
  );
  return {
    element: h('div', { class: 'sessions-page' }, h('p', {}, h('a', { href: '#/sessions' }, t('replay.back'))), h('h1', {}, t('replay.listTitle')), list),
    dispose: async () => undefined,
  };
}

export function replayView(sessionId: string, recordingId: string, user: User): Screen {
  const base = `/sessions/${sessionId}/recordings/${recordingId}`;
  const title = h('h1', { id: 'replay-title' }, t('replay.title', { date: '…' }));
  const player = h('div', { class: 'replay-player', id: 'replay-player' });
  const timeline = h('div', { class: 'replay-timeline', id: 'replay-timeline', role: 'group', 'aria-label': t('replay.timeline') });
  const comments = h('ol', { class: 'replay-comments', id: 'replay-comments', 'aria-label': t('replay.comments') });
  const actions = h('p', { class: 'replay-actions' });
  const status = h('p', { class: 'muted', id: 'replay-status', role: 'status' });
  const element = h(
    'div',
    { class: 'replay-page' },
    h('p', {}, h('a', { href: `#/sessions/${sessionId}/recordings` }, t('replay.back'))),
    title,
    status,
    h('div', { class: 'replay-main' }, h('div', {}, player, timeline, actions), h('section', { class: 'replay-side' }, h('h2', {}, t('replay.comments')), comments)),
  );
  let poll: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;
  let video: HTMLVideoElement | undefined;
  const playheads: HTMLElement[] = [];

  const seek = (ms: number) => {
    if (!video) return;
    video.currentTime = ms / 1000;
    if (video.paused) void video.play().catch(() => undefined);
  };

  const renderTimeline = (r: ReplayView) => {
    clear(timeline);
    const pct = (ms: number) => `${((ms / Math.max(1, r.durationMs)) * 100).toFixed(3)}%`;
    const row = (label: string, cls: string, ...children: HTMLElement[]) => {
      const lane = h('div', { class: `lane ${cls}` }, ...children);
      const head = h('div', { class: 'lane-head' }, label);
      const playhead = h('div', { class: 'playhead', 'aria-hidden': 'true' });
      playheads.push(playhead);
      lane.append(playhead);
      lane.addEventListener('click', (e) => {
        if ((e.target as HTMLElement).closest('button')) return;
        const box = lane.getBoundingClientRect();
        seek(((e.clientX - box.left) / box.width) * r.durationMs);
      });
      timeline.append(h('div', { class: 'timeline-row' }, head, lane));
    };
    const span = (fromMs: number, toMs: number, cls: string, text: string) =>
      h('span', { class: `span ${cls}`, style: `left:${pct(fromMs)};width:${pct(toMs - fromMs)}`, title: `${text} (${formatPosition(fromMs)}–${formatPosition(toMs)})` }, text);
    if (r.phases.length > 0) row(t('replay.phases'), 'phases', ...r.phases.map((p) => span(p.fromMs, p.toMs, `phase phase-${p.phase}`, t(`phase.${p.phase}` as MessageKey))));
    for (const p of r.participants) row(p.name, 'presence', ...p.presence.map((s) => span(s.fromMs, s.toMs, 'present', '')));
    if (r.gaps.length > 0) {
      const names = new Map(r.participants.map((p) => [p.userId, p.name]));
      row(t('replay.gaps'), 'gaps', ...r.gaps.map((g) => span(g.fromMs, g.toMs, 'gap', `${names.get(g.userId) ?? ''} ${g.source}: ${gapLabel(g.reason)}`)));
    }
    row(
      t('replay.comments'),
      'marks',
      ...r.comments
        .filter((c) => c.parentId === null)
        .map((c) =>
          h('button', {
            type: 'button',
            class: 'mark',
            style: `left:${pct(c.offsetMs)}`,
            title: `${formatPosition(c.offsetMs)} ${c.authorName}: ${c.body}`,
            'aria-label': t('replay.seekTo', { time: formatPosition(c.offsetMs) }),
            onclick: () => seek(c.offsetMs),
          }),
        ),
    );
  };

  const renderComments = (r: ReplayView) => {
    clear(comments);
    if (r.comments.length === 0) comments.append(h('li', { class: 'muted' }, t('replay.noComments')));
    for (const c of r.comments) {
      comments.append(
        h(
          'li',
          { class: `replay-comment${c.parentId ? ' reply' : ''}`, 'data-comment-id': c.id, 'data-offset-ms': c.offsetMs },
          h(
            'button',
            { type: 'button', class: 'link', 'aria-label': t('replay.seekTo', { time: formatPosition(c.offsetMs) }), onclick: () => seek(c.offsetMs) },
            h('time', {}, formatPosition(c.offsetMs)),
          ),
          ' ',
          h('span', { class: 'muted' }, t('replay.commentMeta', { author: c.authorName, document: c.documentName, line: c.line }), c.resolved ? ` · ${t('replay.resolved')}` : ''),
          h('p', {}, c.body),
        ),
      );
    }
  };

  const follow = (r: ReplayView) => {
    if (!video) return;
    const ms = video.currentTime * 1000;
    for (const p of playheads) p.style.left = `${((ms / Math.max(1, r.durationMs)) * 100).toFixed(3)}%`;
    const index = currentComment(r.comments, ms);
    comments.querySelectorAll('li[data-comment-id]').forEach((li, i) => {
      if (i === index) {
        if (li.getAttribute('aria-current') !== 'true') {
          li.setAttribute('aria-current', 'true');
          li.scrollIntoView({ block: 'nearest' });
        }
      } else li.removeAttribute('aria-current');
    });
  };

  const showVideo = async (r: ReplayView) => {
    const link = await sendJson<{ url: string }>('POST', `${base}/composite/link`);
    if (disposed) return;
    video = h('video', { id: 'replay-video', controls: true, preload: 'metadata', playsinline: true, 'aria-label': t('replay.video'), src: link.url });
    const v = video;
    v.addEventListener('timeupdate', () => follow(r));
    v.addEventListener('seeked', () => follow(r));
    clear(player);
    player.append(v);
    actions.append(h('a', { class: 'button secondary', href: link.url, download: `recording-${recordingId}.mp4`, id: 'replay-download' }, t('replay.download')));
    window.mlReplay = { replay: r, video: v };
  };

  const showProgress = (r: ReplayView) => {
    clear(player);
    const c = r.composite;
    const percent = Math.round(c.progress * 100);
    const text = c.status === 'running' ? t('replay.state.running', { percent }) : t(`replay.state.${c.status === 'ready' ? 'none' : c.status}` as MessageKey);
    player.append(
      h('progress', { id: 'composite-progress', max: 100, value: c.status === 'running' ? percent : 0, 'aria-label': t('replay.progress') }),
      h('p', { class: 'muted' }, text),
    );
  };

  const load = async () => {
    try {
      const r = await getJson<ReplayView>(`${base}/replay`);
      if (disposed) return;
      title.textContent = t('replay.title', { date: formatDateTime(r.startedAt, user.timeZone) });
      if (!window.mlReplay) {
        renderTimeline(r);
        renderComments(r);
        if (user.role === 'coordinator') {
          actions.append(
            h('button', {
              type: 'button',
              class: 'secondary',
              id: 'replay-archive',
              onclick: () =>
                void getBlob(`/sessions/${sessionId}/archive.zip`).then((blob) => {
                  const a = h('a', { href: URL.createObjectURL(blob), download: `session-${sessionId}.zip` });
                  a.click();
                  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
                }),
            }, t('replay.archive')),
          );
        }
      }
      if (r.composite.status === 'ready') {
        window.mlReplay = { replay: r, video: undefined };
        await showVideo(r);
        return;
      }
      window.mlReplay = { replay: r, video: undefined };
      showProgress(r);
      if (r.composite.status !== 'failed') poll = setTimeout(() => void load(), 2000);
    } catch {
      status.textContent = t('replay.unavailable');
    }
  };
  window.mlReplay = undefined;
  void load();

  return {
    element,
    dispose: async () => {
      disposed = true;
      if (poll) clearTimeout(poll);
      video?.pause();
      video?.removeAttribute('src');
      window.mlReplay = undefined;
    },
  };
}
