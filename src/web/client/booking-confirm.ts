/**
 * The confirm step of #/book: picking a slot asks first (what, when, with
 * whom and, when moving a session, the policy), then books or moves.
 */
import { sendJson } from './api.ts';
import { moveNote, type Policy, type Session } from './booking-sessions.ts';
import type { Slot } from './booking-week.ts';
import { append, clear, h } from './dom.ts';
import { t } from './i18n.ts';
import { formatDateTime } from './time.ts';
import { withProgress } from './ui.ts';

export interface ConfirmStep {
  /** The confirm card (`#book-confirm`), hidden until a slot is picked. */
  element: HTMLElement;
  /** Asks to book this slot, or to move `moving` to it. */
  ask(slot: Slot, moving: Session | undefined): void;
}

export interface ConfirmContext {
  mentorName(): string;
  /** The project chosen for a new session. */
  project(): { id: string; title: string };
  policy(): Policy;
  /** Booked or moved; `when` is the slot's start in the viewer's words. */
  onDone(moved: boolean, when: string): void;
  /** "Not this one": the card closed. */
  onDismiss(): void;
  onError(err: unknown): void;
}

export function confirmStep(zone: string, ctx: ConfirmContext): ConfirmStep {
  const element = h('section', { id: 'book-confirm', class: 'card confirm', hidden: true, 'aria-labelledby': 'book-confirm-title' });
  return {
    element,
    ask(slot, moving) {
      clear(element);
      const button = h('button', { type: 'button', id: 'book-confirm-button' }, moving ? t('book.moveConfirm') : t('book.confirm'));
      const when = formatDateTime(slot.startsAt, zone);
      const project = ctx.project();
      button.addEventListener('click', () => {
        const action = moving
          ? sendJson<Session>('POST', `/sessions/${moving.id}/reschedule`, { startsAt: slot.startsAt })
          : sendJson<Session>('POST', '/sessions', { startsAt: slot.startsAt, projectId: ctx.project().id });
        void withProgress(button, () => action).then(() => {
          element.hidden = true;
          ctx.onDone(!!moving, when);
        }, ctx.onError);
      });
      const dismiss = () => {
        element.hidden = true;
        ctx.onDismiss();
      };
      append(
        element,
        h('h2', { id: 'book-confirm-title' }, t('book.confirmTitle')),
        h('p', {}, t('book.confirmText', { project: moving?.projectTitle ?? project.title, date: when, name: ctx.mentorName() })),
        moving ? h('p', { class: 'policy' }, moveNote(moving.startsAt, ctx.policy())) : null,
        h('p', { class: 'actions' }, button, ' ', h('button', { type: 'button', class: 'secondary', onclick: dismiss }, t('book.cancelPick'))),
      );
      element.hidden = false;
      button.focus();
    },
  };
}
