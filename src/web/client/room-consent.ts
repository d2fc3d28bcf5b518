/**
 * The consent line of the room: in a mentoring session whose recording needs
 * the student's agreement, the student ticks (or unticks) it here. A refused
 * change puts the box back as it was.
 */
import { getJson, sendJson } from './api.ts';
import { h } from './dom.ts';
import { t } from './i18n.ts';
import { errorText } from './ui.ts';

export interface ConsentLine {
  /** The line (`#recording-consent` and its label), hidden until `load` finds consent required. */
  element: HTMLElement;
  /** Reads the student's consent and whether the session asks for it. */
  load(): Promise<void>;
}

export function consentLine(sessionId: string, onError: (text: string) => void): ConsentLine {
  const box = h('input', { type: 'checkbox', id: 'recording-consent' });
  box.addEventListener('change', () => {
    sendJson('PUT', `/sessions/${sessionId}/recording-consent`, { granted: box.checked }).catch((err: unknown) => {
      box.checked = !box.checked;
      onError(errorText(err));
    });
  });
  const element = h('span', { class: 'consent', hidden: true }, box, h('label', { for: 'recording-consent' }, t('room.consent')));
  return {
    element,
    async load() {
      try {
        const state = await getJson<{ required: boolean; granted: boolean | null }>(`/sessions/${sessionId}/recording-consent`);
        box.checked = state.granted === true;
        element.hidden = !state.required;
      } catch {
        // No recording capability on this server: no consent to give.
      }
    },
  };
}
