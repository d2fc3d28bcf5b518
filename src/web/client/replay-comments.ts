/**
 * The comment list of a replay: every review comment with its position in the
 * recording (a button that seeks there), author, document and line. The
 * comment the playhead is at is marked current and scrolled into view.
 */
import { clear, h } from './dom.ts';
import { t } from './i18n.ts';
import type { ReplayView } from '../../recording/replay.ts';
import { formatPosition } from './replay-timeline.ts';

/** The comment the playhead is at: the last one written at or before it. */
export function currentComment(comments: ReadonlyArray<{ offsetMs: number }>, positionMs: number): number {
  let index = -1;
  comments.forEach((c, i) => {
    if (c.offsetMs <= positionMs + 250) index = i;
  });
  return index;
}

export interface ReplayComments {
  /** The list (`#replay-comments`). */
  element: HTMLElement;
  render(comments: ReplayView['comments']): void;
  /** Marks the comment the playhead is at. */
  follow(comments: ReplayView['comments'], positionMs: number): void;
}

export function replayComments(seek: (ms: number) => void): ReplayComments {
  const element = h('ol', { class: 'replay-comments', id: 'replay-comments', 'aria-label': t('replay.comments') });
  const item = (c: ReplayView['comments'][number]) =>
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
    );
  return {
    element,
    render(comments) {
      clear(element);
      if (comments.length === 0) element.append(h('li', { class: 'muted' }, t('replay.noComments')));
      for (const c of comments) element.append(item(c));
    },
    follow(comments, ms) {
      const index = currentComment(comments, ms);
      element.querySelectorAll('li[data-comment-id]').forEach((li, i) => {
        if (i === index) {
          if (li.getAttribute('aria-current') !== 'true') {
            li.setAttribute('aria-current', 'true');
            li.scrollIntoView({ block: 'nearest' });
          }
        } else li.removeAttribute('aria-current');
      });
    },
  };
}
