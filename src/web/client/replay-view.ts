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
import { replayComments } from './replay-comments.ts';
import { replayTimeline } from './replay-timeline.ts';
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

export { formatPosition } from './replay-timeline.ts';
export { currentComment } from './replay-comments.ts';

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

/** The coordinator's download of the whole session (recordings, review, attendance) as one zip. */
const archiveButton = (sessionId: string) =>
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
  }, t('replay.archive'));

/** While the composite video is being made (or failed): its progress, in words. */
function compositeProgress(c: ReplayView['composite']): HTMLElement[] {
  const percent = Math.round(c.progress * 100);
  const text = c.status === 'running' ? t('replay.state.running', { percent }) : t(`replay.state.${c.status === 'ready' ? 'none' : c.status}` as MessageKey);
  return [
    h('progress', { id: 'composite-progress', max: 100, value: c.status === 'running' ? percent : 0, 'aria-label': t('replay.progress') }),
    h('p', { class: 'muted' }, text),
  ];
}

export function replayView(sessionId: string, recordingId: string, user: User): Screen {
  const base = `/sessions/${sessionId}/recordings/${recordingId}`;
  const title = h('h1', { id: 'replay-title' }, t('replay.title', { date: '…' }));
  const player = h('div', { class: 'replay-player', id: 'replay-player' });
  const timeline = replayTimeline((ms) => seek(ms));
  const comments = replayComments((ms) => seek(ms));
  const actions = h('p', { class: 'replay-actions' });
  const status = h('p', { class: 'muted', id: 'replay-status', role: 'status' });
  const element = h(
    'div',
    { class: 'replay-page' },
    h('p', {}, h('a', { href: `#/sessions/${sessionId}/recordings` }, t('replay.back'))),
    title,
    status,
    h('div', { class: 'replay-main' }, h('div', {}, player, timeline.element, actions), h('section', { class: 'replay-side' }, h('h2', {}, t('replay.comments')), comments.element)),
  );
  let poll: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;
  let video: HTMLVideoElement | undefined;

  const seek = (ms: number) => {
    if (!video) return;
    video.currentTime = ms / 1000;
    if (video.paused) void video.play().catch(() => undefined);
  };

  const follow = (r: ReplayView) => {
    if (!video) return;
    const ms = video.currentTime * 1000;
    timeline.follow(ms, r.durationMs);
    comments.follow(r.comments, ms);
  };

  const showVideo = async (r: ReplayView) => {
    const link = await sendJson<{ url: string }>('POST', `${base}/composite/link`);
    if (disposed) return;
    const v = (video = h('video', { id: 'replay-video', controls: true, preload: 'metadata', playsinline: true, 'aria-label': t('replay.video'), src: link.url }));
    v.addEventListener('timeupdate', () => follow(r));
    v.addEventListener('seeked', () => follow(r));
    clear(player);
    player.append(v);
    actions.append(h('a', { class: 'button secondary', href: link.url, download: `recording-${recordingId}.mp4`, id: 'replay-download' }, t('replay.download')));
    window.mlReplay = { replay: r, video: v };
  };

  const load = async () => {
    try {
      const r = await getJson<ReplayView>(`${base}/replay`);
      if (disposed) return;
      title.textContent = t('replay.title', { date: formatDateTime(r.startedAt, user.timeZone) });
      if (!window.mlReplay) {
        timeline.render(r);
        comments.render(r.comments);
        if (user.role === 'coordinator') actions.append(archiveButton(sessionId));
      }
      window.mlReplay = { replay: r, video: undefined };
      if (r.composite.status === 'ready') {
        await showVideo(r);
        return;
      }
      clear(player);
      player.append(...compositeProgress(r.composite));
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
