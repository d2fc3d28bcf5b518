/**
 * The student's booked mentoring sessions on #/book, each with Move and
 * Cancel; Cancel first states the policy ("counts as late") and asks again.
 * Also the policy sentences the booking page shows before a move.
 */
import { getJson, sendJson } from './api.ts';
import { clear, h } from './dom.ts';
import { t } from './i18n.ts';
import { formatDateTime } from './time.ts';
import { withProgress } from './ui.ts';

export interface Policy {
  mentoringMinutes: number;
  lateCancelNoticeHours: number;
}
export interface Session {
  id: string;
  kind: string;
  status: string;
  startsAt: string;
  endsAt: string;
  projectTitle: string | null;
}

/** Whether moving or cancelling a session starting then counts as late under the policy. */
export const isLate = (startsAt: string, policy: Policy) => Date.parse(startsAt) - Date.now() < policy.lateCancelNoticeHours * 3_600_000;

/** What moving this session means under the policy (late or on time), said before the move. */
export const moveNote = (startsAt: string, policy: Policy) =>
  isLate(startsAt, policy) ? t('book.moveLate', { hours: policy.lateCancelNoticeHours }) : t('book.moveOnTime', { hours: policy.lateCancelNoticeHours });

export interface BookedSessions {
  /** The list (`#book-mine`). */
  element: HTMLElement;
  load(): Promise<void>;
}

export interface BookedSessionsEvents {
  /** The policy as the server last said it. */
  policy(): Policy;
  /** The student chose to move this session (the page then offers slots for it). */
  onMove(session: Session): void;
  /** A session was cancelled (`late`: it counted as late); the page refreshes. */
  onCancelled(late: boolean): void;
  onError(err: unknown): void;
}

export function bookedSessions(zone: string, events: BookedSessionsEvents): BookedSessions {
  const element = h('ul', { id: 'book-mine', class: 'sessions' });

  /** Cancel: the policy, then "yes, cancel it" or "keep it", in the session's own panel. */
  function askCancel(s: Session, panel: HTMLElement): void {
    const policy = events.policy();
    clear(panel);
    const yes = h('button', { type: 'button', class: 'danger' }, t('book.cancelConfirm'));
    yes.addEventListener('click', () => {
      void withProgress(yes, () => sendJson<{ late?: boolean }>('POST', `/sessions/${s.id}/cancel`, {})).then((res) => events.onCancelled(!!res.late), events.onError);
    });
    panel.append(
      h('p', { class: 'policy', role: 'note' }, isLate(s.startsAt, policy) ? t('book.cancelLate', { hours: policy.lateCancelNoticeHours }) : t('book.cancelOnTime', { hours: policy.lateCancelNoticeHours })),
      h('p', { class: 'actions' }, yes, ' ', h('button', { type: 'button', class: 'secondary', onclick: () => (panel.hidden = true) }, t('book.keep'))),
    );
    panel.hidden = false;
    yes.focus();
  }

  function item(s: Session): HTMLElement {
    const titleId = `mine-${s.id}`;
    const panel = h('div', { class: 'policy-panel', hidden: true });
    const cancel = h('button', { type: 'button', class: 'secondary', 'aria-describedby': titleId, onclick: () => askCancel(s, panel) }, t('book.cancel'));
    const move = h('button', { type: 'button', class: 'secondary', 'aria-describedby': titleId, onclick: () => events.onMove(s) }, t('book.reschedule'));
    return h(
      'li',
      { class: 'session', 'data-session-id': s.id },
      h('h3', { id: titleId }, s.projectTitle ?? t('sessions.kind.mentoring')),
      h('p', {}, h('time', { datetime: s.startsAt }, formatDateTime(s.startsAt, zone))),
      h('p', { class: 'actions' }, move, ' ', cancel),
      panel,
    );
  }

  return {
    element,
    async load() {
      const { sessions } = await getJson<{ sessions: Session[] }>(`/sessions?timeZone=${encodeURIComponent(zone)}`);
      clear(element);
      const booked = sessions.filter((s) => s.kind === 'mentoring' && s.status === 'scheduled');
      if (booked.length === 0) element.append(h('li', { class: 'muted' }, t('book.noMine')));
      for (const s of booked) element.append(item(s));
    },
  };
}

export interface MoveMode {
  /** The notice (`#book-mode`) shown while a session is being moved. */
  element: HTMLElement;
  /** The session being moved, if any. */
  moving(): Session | undefined;
  /** Moves this session with the next slot picked; the policy is said now, and "keep it" leaves move mode. */
  start(session: Session, policy: Policy): void;
  end(): void;
}

export function moveMode(zone: string): MoveMode {
  const element = h('div', { id: 'book-mode', hidden: true, class: 'card notice' });
  let moving: Session | undefined;
  const end = () => {
    moving = undefined;
    element.hidden = true;
  };
  return {
    element,
    moving: () => moving,
    end,
    start(s, policy) {
      moving = s;
      clear(element);
      element.append(
        h('p', {}, t('book.moving', { date: formatDateTime(s.startsAt, zone) })),
        h('p', { class: 'policy' }, moveNote(s.startsAt, policy)),
        h('button', { type: 'button', class: 'secondary', onclick: end }, t('book.keep')),
      );
      element.hidden = false;
    },
  };
}
