/**
 * The time-off card of #/availability: the host's days off (each with a
 * remove button) and a form to add whole days on the host's own clock.
 */
import { DateTime } from 'luxon';
import { getJson, sendJson } from './api.ts';
import { clear, h } from './dom.ts';
import { t } from './i18n.ts';
import { formatDateTime } from './time.ts';
import { withProgress } from './ui.ts';

interface TimeOff {
  id: string;
  startsAt: string;
  endsAt: string;
  reason: string;
}

export interface TimeOffCard {
  element: HTMLElement;
  /** Lists the time off as the server has it. */
  load(): Promise<void>;
}

/** `zone()` is the host's zone as last saved; `onChanged` hears of time off added or removed (the preview changes). */
export function timeOffCard(hostId: string, zone: () => string, { onChanged, onError }: { onChanged(): void; onError(err: unknown): void }): TimeOffCard {
  const list = h('ul', { id: 'avail-timeoff-list' });

  async function load(): Promise<void> {
    const items = await getJson<TimeOff[]>(`/hosts/${hostId}/time-off`);
    clear(list);
    if (items.length === 0) list.append(h('li', { class: 'muted' }, t('avail.noTimeOff')));
    for (const item of items) {
      const from = formatDateTime(item.startsAt, zone());
      const to = formatDateTime(item.endsAt, zone());
      const remove = h('button', { type: 'button', class: 'secondary' }, t('avail.timeOffRemove', { from, to }));
      remove.addEventListener('click', () => {
        void withProgress(remove, () => sendJson('DELETE', `/hosts/${hostId}/time-off/${item.id}`)).then(() => {
          void load();
          onChanged();
        }, onError);
      });
      list.append(h('li', {}, `${from} – ${to}`, item.reason ? ` (${item.reason})` : '', ' ', remove));
    }
  }

  const start = h('input', { type: 'date', id: 'timeoff-start', required: true });
  const end = h('input', { type: 'date', id: 'timeoff-end', required: true });
  const reason = h('input', { type: 'text', id: 'timeoff-reason', maxlength: 200 });
  const add = h('button', { type: 'submit', id: 'timeoff-add' }, t('avail.timeOffAdd'));
  const element = h(
    'form',
    { class: 'card', 'aria-labelledby': 'timeoff-title' },
    h('h2', { id: 'timeoff-title' }, t('avail.timeOff')),
    list,
    h('p', {}, h('label', { for: 'timeoff-start' }, t('avail.timeOffStart')), ' ', start, ' ', h('label', { for: 'timeoff-end' }, t('avail.timeOffEnd')), ' ', end),
    h('p', {}, h('label', { for: 'timeoff-reason' }, t('avail.timeOffReason')), ' ', reason),
    h('p', {}, add),
  );
  element.addEventListener('submit', (e) => {
    e.preventDefault();
    // Whole days on the host's own clock: from the first day's midnight to the midnight after the last.
    const startsAt = DateTime.fromISO(start.value, { zone: zone() }).startOf('day').toUTC().toISO();
    const endsAt = DateTime.fromISO(end.value, { zone: zone() }).plus({ days: 1 }).startOf('day').toUTC().toISO();
    void withProgress(add, () => sendJson('POST', `/hosts/${hostId}/time-off`, { startsAt, endsAt, ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) })).then(() => {
      start.value = end.value = reason.value = '';
      void load();
      onChanged();
    }, onError);
  });
  return { element, load };
}
