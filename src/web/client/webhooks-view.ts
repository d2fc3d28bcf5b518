/**
 * #/webhooks (coordinator): subscriptions of the school's other systems to
 * domain events, the secret shown once at creation, and each subscription's
 * deliveries with a "send again" for those given up (webhooks-deliveries.ts).
 */
import { DURABLE_EVENTS } from '../../events/index.ts';
import { getJson, sendJson, type User } from './api.ts';
import { clear, h } from './dom.ts';
import { t } from './i18n.ts';
import { deliveriesPanel } from './webhooks-deliveries.ts';
import { backLink, statusLine, withProgress } from './ui.ts';

/** The server's webhook events: its durable events (src/events, a module without imports, bundled here as is). */
export const WEBHOOK_EVENTS = DURABLE_EVENTS;

interface Subscription {
  id: string;
  url: string;
  events: string[];
  description: string;
  active: boolean;
}

type Status = { info(text: string): void; fail(err: unknown): void };

/** One subscription: its URL, description, events, an "active" switch, and the button that shows its deliveries. */
function subscriptionItem(sub: Subscription, status: Status, showDeliveries: (sub: Subscription, button: HTMLButtonElement) => Promise<void>): HTMLElement {
  const titleId = `hook-${sub.id}`;
  const activeId = `hook-active-${sub.id}`;
  const active = h('input', { type: 'checkbox', id: activeId, checked: sub.active });
  active.addEventListener('change', () => {
    active.disabled = true;
    sendJson<Subscription>('PATCH', `/webhooks/${sub.id}`, { active: active.checked }).then(
      (saved) => {
        active.checked = saved.active;
        active.disabled = false;
      },
      (err: unknown) => {
        active.checked = !active.checked;
        active.disabled = false;
        status.fail(err);
      },
    );
  });
  const show = h('button', { type: 'button', class: 'secondary show-deliveries', 'aria-describedby': titleId }, t('hooks.showDeliveries'));
  show.addEventListener('click', () => void showDeliveries(sub, show).catch((err: unknown) => status.fail(err)));
  return h(
    'li',
    { class: 'session', 'data-subscription-id': sub.id },
    h('h3', { id: titleId, class: 'mono' }, sub.url),
    sub.description ? h('p', {}, sub.description) : null,
    h('p', { class: 'muted mono' }, sub.events.join(', ')),
    h('p', { class: 'actions' }, active, h('label', { for: activeId }, t('hooks.active')), show),
  );
}

/** The form for a new subscription (URL, description, events); `onCreated` gets the secret, shown this once. */
function newSubscriptionForm(status: Status, onCreated: (secret: string) => void): HTMLElement {
  const url = h('input', { type: 'url', id: 'hooks-url', required: true, maxlength: 2000, class: 'mono' });
  const description = h('input', { type: 'text', id: 'hooks-description', maxlength: 500 });
  const events = WEBHOOK_EVENTS.map((e) => h('input', { type: 'checkbox', id: `hooks-event-${e}`, value: e, checked: true }));
  const create = h('button', { type: 'submit', id: 'hooks-create' }, t('hooks.create'));
  const form = h(
    'form',
    { class: 'card', id: 'hooks-form', 'aria-labelledby': 'hooks-new-title' },
    h('h2', { id: 'hooks-new-title' }, t('hooks.new')),
    h('p', {}, h('label', { for: 'hooks-url' }, t('hooks.url')), ' ', url),
    h('p', {}, h('label', { for: 'hooks-description' }, t('hooks.description')), ' ', description),
    h('fieldset', {}, h('legend', {}, t('hooks.events')), h('div', { class: 'jury-choice' }, ...events.map((box) => h('p', {}, box, ' ', h('label', { for: box.id, class: 'mono' }, box.value))))),
    h('p', {}, create),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = { url: url.value.trim(), events: events.filter((b) => b.checked).map((b) => b.value), ...(description.value.trim() ? { description: description.value.trim() } : {}) };
    void withProgress(create, () => sendJson<Subscription & { secret: string }>('POST', '/webhooks', body)).then(
      (created) => {
        url.value = description.value = '';
        onCreated(created.secret);
      },
      (err: unknown) => status.fail(err),
    );
  });
  return form;
}

export function webhooksView(viewer: User): HTMLElement {
  const status = statusLine('hooks-status');
  const list = h('ul', { id: 'hooks-list', class: 'sessions', 'aria-busy': 'true' });
  const deliveries = deliveriesPanel(viewer.timeZone, status);
  const secretBox = h('div', { id: 'hooks-secret', class: 'notice', hidden: true });

  async function load(): Promise<void> {
    list.setAttribute('aria-busy', 'true');
    try {
      const subs = await getJson<Subscription[]>('/webhooks');
      clear(list);
      if (subs.length === 0) list.append(h('li', { class: 'muted' }, t('hooks.none')));
      for (const sub of subs) list.append(subscriptionItem(sub, status, deliveries.show));
    } catch (err) {
      status.fail(err);
    } finally {
      list.removeAttribute('aria-busy');
    }
  }

  const form = newSubscriptionForm(status, (secret) => {
    clear(secretBox);
    secretBox.append(h('p', {}, t('hooks.secretOnce')), h('p', {}, h('code', { id: 'hooks-secret-value' }, secret)));
    secretBox.hidden = false;
    void load();
  });
  void load();
  return h('div', { class: 'webhooks-page' }, h('h1', {}, t('hooks.title')), status.element, secretBox, list, deliveries.element, form, backLink());
}
