/**
 * The room's lines of news: the status line (joining, joined, reconnecting,
 * why it closed), the alert for failures the person must see (a refused join,
 * a denied camera), and a hidden announcer that screen readers read out for
 * changes shown elsewhere (recording started, a review comment).
 */
import { h } from './dom.ts';
import { t } from './i18n.ts';

export interface RoomStatusLine {
  status: HTMLElement;
  alert: HTMLElement;
  announcer: HTMLElement;
  /** Replaces the status line's text. */
  set(text: string): void;
  /** Shows a failure; undefined hides the alert. */
  showAlert(text: string | undefined): void;
  /** Read out to screen readers only. */
  announce(text: string): void;
}

export function roomStatusLine(): RoomStatusLine {
  const status = h('p', { class: 'status', id: 'room-status', role: 'status', 'aria-live': 'polite' }, t('room.joining'));
  const alert = h('div', { class: 'room-alert', role: 'alert', id: 'room-alert', hidden: true });
  const announcer = h('div', { class: 'visually-hidden', 'aria-live': 'polite', id: 'announcer' });
  return {
    status,
    alert,
    announcer,
    set(text) {
      status.textContent = text;
    },
    showAlert(text) {
      alert.textContent = text ?? '';
      alert.hidden = !text;
    },
    announce(text) {
      announcer.textContent = text;
    },
  };
}
