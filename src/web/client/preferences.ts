/**
 * #/preferences: which reminders reach the person, by channel. The link at
 * the foot of every mail leads here. Invitations, updates and cancellations
 * always go by e-mail, so they are stated, not offered as a switch.
 */
import { getJson, sendJson } from './api.ts';
import { h } from './dom.ts';
import { t } from './i18n.ts';
import { errorText } from './ui.ts';

interface Preferences {
  reminderEmail: boolean;
  reminderBrowser: boolean;
}

export function preferencesView(): HTMLElement {
  const status = h('p', { role: 'status', id: 'preferences-status', class: 'muted' });
  const box = (id: keyof Preferences, label: string) => {
    const input = h('input', { type: 'checkbox', id: `pref-${id}`, name: id, disabled: true });
    input.addEventListener('change', () => {
      input.disabled = true;
      status.textContent = t('preferences.saving');
      sendJson<Preferences>('PATCH', '/me/preferences', { [id]: input.checked }).then(
        (saved) => {
          input.checked = saved[id];
          input.disabled = false;
          status.textContent = t('preferences.saved');
        },
        (err: unknown) => {
          input.checked = !input.checked;
          input.disabled = false;
          status.textContent = errorText(err);
        },
      );
    });
    return { input, row: h('p', {}, input, ' ', h('label', { for: `pref-${id}` }, label)) };
  };
  const email = box('reminderEmail', t('preferences.reminderEmail'));
  const browser = box('reminderBrowser', t('preferences.reminderBrowser'));
  void getJson<Preferences>('/me/preferences').then(
    (p) => {
      email.input.checked = p.reminderEmail;
      browser.input.checked = p.reminderBrowser;
      email.input.disabled = browser.input.disabled = false;
    },
    (err: unknown) => {
      status.textContent = errorText(err);
    },
  );
  return h(
    'form',
    { class: 'card', 'aria-labelledby': 'preferences-title', onsubmit: (e: Event) => e.preventDefault() },
    h('h1', { id: 'preferences-title' }, t('preferences.title')),
    h('fieldset', {}, h('legend', {}, t('preferences.reminders')), email.row, browser.row),
    h('p', { class: 'muted' }, t('preferences.always')),
    status,
    h('p', {}, h('a', { href: '#/sessions' }, t('room.back'))),
  );
}
