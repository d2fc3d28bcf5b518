/**
 * The timeline of a replay: one lane each for the defence phases, every
 * participant's presence, the gaps in the recording, and the review comments
 * (a mark each). A playhead runs across all lanes; clicking a lane or a mark
 * seeks there.
 */
import { clear, h } from './dom.ts';
import { t, type MessageKey } from './i18n.ts';
import type { ReplayView } from '../../recording/replay.ts';

/** m:ss or h:mm:ss of a position in the recording. */
export function formatPosition(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(total / 3600);
  const mm = Math.floor((total % 3600) / 60);
  const ss = String(total % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

const gapLabel = (reason: string) => {
  const key = `replay.gap.${reason}` as MessageKey;
  return ['paused', 'recorder_died', 'between_segments'].includes(reason) ? t(key) : t('replay.gap.other');
};

export interface ReplayTimeline {
  /** The timeline (`#replay-timeline`). */
  element: HTMLElement;
  render(replay: ReplayView): void;
  /** Moves the playhead to this position. */
  follow(positionMs: number, durationMs: number): void;
}

export function replayTimeline(seek: (ms: number) => void): ReplayTimeline {
  const element = h('div', { class: 'replay-timeline', id: 'replay-timeline', role: 'group', 'aria-label': t('replay.timeline') });
  const playheads: HTMLElement[] = [];

  function render(r: ReplayView): void {
    clear(element);
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
      element.append(h('div', { class: 'timeline-row' }, head, lane));
    };
    const span = (fromMs: number, toMs: number, cls: string, text: string) =>
      h('span', { class: `span ${cls}`, style: `left:${pct(fromMs)};width:${pct(toMs - fromMs)}`, title: `${text} (${formatPosition(fromMs)}–${formatPosition(toMs)})` }, text);
    if (r.phases.length > 0) row(t('replay.phases'), 'phases', ...r.phases.map((p) => span(p.fromMs, p.toMs, `phase phase-${p.phase}`, t(`phase.${p.phase}` as MessageKey))));
    for (const p of r.participants) row(p.name, 'presence', ...p.presence.map((s) => span(s.fromMs, s.toMs, 'present', '')));
    if (r.gaps.length > 0) {
      const names = new Map(r.participants.map((p) => [p.userId, p.name]));
      row(t('replay.gaps'), 'gaps', ...r.gaps.map((g) => span(g.fromMs, g.toMs, 'gap', `${names.get(g.userId) ?? ''} ${g.source}: ${gapLabel(g.reason)}`)));
    }
    const mark = (c: ReplayView['comments'][number]) =>
      h('button', {
        type: 'button',
        class: 'mark',
        style: `left:${pct(c.offsetMs)}`,
        title: `${formatPosition(c.offsetMs)} ${c.authorName}: ${c.body}`,
        'aria-label': t('replay.seekTo', { time: formatPosition(c.offsetMs) }),
        onclick: () => seek(c.offsetMs),
      });
    row(t('replay.comments'), 'marks', ...r.comments.filter((c) => c.parentId === null).map(mark));
  }

  return {
    element,
    render,
    follow(ms, durationMs) {
      for (const p of playheads) p.style.left = `${((ms / Math.max(1, durationMs)) * 100).toFixed(3)}%`;
    },
  };
}
