/**
 * The deliveries of one webhook subscription (#/webhooks): event, status,
 * attempts, the receiver's last HTTP code, when; "send again" for those the
 * server gave up on (dead letters).
 */
import { getJson, sendJson } from './api.ts';
import { clear, h } from './dom.ts';
import { t } from './i18n.ts';
import { labelOf } from './path-view.ts';
import { formatDateTime } from './time.ts';
import { withProgress } from './ui.ts';

export interface Delivery {
  id: string;
  event: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  createdAt: string;
}

export interface DeliveriesPanel {
  /** The panel (`#hooks-deliveries`), hidden until a subscription's deliveries are asked for. */
  element: HTMLElement;
  /** Shows this subscription's deliveries; `button` shows the progress. */
  show(sub: { id: string; url: string }, button: HTMLButtonElement): Promise<void>;
}

export function deliveriesPanel(zone: string, status: { info(text: string): void; fail(err: unknown): void }): DeliveriesPanel {
  const element = h('section', { id: 'hooks-deliveries', class: 'card', hidden: true, 'aria-labelledby': 'hooks-deliveries-title' });

  const row = (d: Delivery) => {
    const again = d.status === 'dead_letter' ? h('button', { type: 'button', class: 'secondary' }, t('hooks.redeliver')) : null;
    again?.addEventListener('click', () => {
      void withProgress(again, () => sendJson('POST', `/webhooks/deliveries/${d.id}/redeliver`)).then(
        () => status.info(t('hooks.redelivered')),
        (err: unknown) => status.fail(err),
      );
    });
    return h(
      'tr',
      { 'data-delivery-id': d.id, 'data-status': d.status },
      h('th', { scope: 'row', class: 'mono' }, d.event),
      h('td', {}, labelOf('hooks.status', d.status)),
      h('td', {}, d.attempts),
      h('td', {}, d.lastStatusCode ?? '—'),
      h('td', {}, formatDateTime(d.createdAt, zone)),
      h('td', {}, again),
    );
  };

  return {
    element,
    async show(sub, button) {
      const rows = await withProgress(button, () => getJson<Delivery[]>(`/webhooks/${sub.id}/deliveries`));
      clear(element);
      element.hidden = false;
      element.append(h('h2', { id: 'hooks-deliveries-title' }, t('hooks.deliveriesOf', { url: sub.url })));
      if (rows.length === 0) {
        element.append(h('p', { class: 'muted' }, t('hooks.noDeliveries')));
        return;
      }
      const th = (key: Parameters<typeof t>[0]) => h('th', { scope: 'col' }, t(key));
      element.append(
        h(
          'table',
          { class: 'attendance', id: 'hooks-deliveries-table' },
          h('thead', {}, h('tr', {}, th('hooks.event'), th('hooks.status'), th('hooks.attempts'), th('hooks.lastCode'), th('hooks.at'), h('td', {}))),
          h('tbody', {}, ...rows.map(row)),
        ),
      );
    },
  };
}
