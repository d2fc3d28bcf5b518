/**
 * The weekly-hours form of #/availability: the host's zone, periods per
 * weekday (added and removed in place), the buffer between sessions, Save.
 * It knows what was saved, so the preview can say when it shows a draft.
 */
import { sendJson } from './api.ts';
import { h } from './dom.ts';
import { locale, t } from './i18n.ts';
import { withProgress } from './ui.ts';

export interface Rule {
  weekday: number;
  start: string;
  end: string;
}
export interface Availability {
  timeZone: string;
  bufferMinutes: number;
  minimumNoticeMinutes: number;
  horizonDays: number;
  weekly: Rule[];
  overrides: Array<{ date: string; intervals: Array<{ start: string; end: string }> }>;
}

/** The body of PUT (and of the preview): what the form says. */
export type Draft = Availability;

export interface WeeklyForm {
  /** The form (`#avail-form`). */
  element: HTMLElement;
  /** The availability as the form shows it now, saved or not. */
  draft(): Draft;
  /** Whether this draft differs from what was last saved. */
  unsaved(draft: Draft): boolean;
}

export interface WeeklyFormEvents {
  /** Anything was edited (a time typed, a period added or removed, the zone or buffer changed). */
  onEdit(): void;
  onSaved(saved: Availability): void;
  onError(err: unknown): void;
}

/** Weekday name (ISO 1 = Monday) in the current language. */
const weekdayName = (weekday: number) => new Intl.DateTimeFormat(locale(), { weekday: 'long', timeZone: 'UTC' }).format(new Date(Date.UTC(2024, 0, weekday)));

/** One weekday's periods, each a from/to pair with a remove button, and a button to add one. */
function dayBox(weekday: number, rules: readonly Rule[]): { element: HTMLElement; read(): Rule[] } {
  const name = weekdayName(weekday);
  const rows = h('div', { class: 'intervals', id: `avail-day-${weekday}` });
  const addRow = (start = '09:00', end = '12:00') => {
    const i = rows.children.length;
    const fromId = `avail-${weekday}-${i}-from`;
    const toId = `avail-${weekday}-${i}-to`;
    const from = h('input', { type: 'time', id: fromId, value: start, required: true, class: 'from' });
    const to = h('input', { type: 'time', id: toId, value: end === '24:00' ? '23:59' : end, required: true, class: 'to' });
    const row = h('p', { class: 'interval' }, h('label', { for: fromId }, t('avail.from')), ' ', from, ' ', h('label', { for: toId }, t('avail.to')), ' ', to, ' ');
    row.append(h('button', { type: 'button', class: 'secondary remove', 'aria-label': t('avail.remove', { from: start, to: end, day: name }), onclick: () => row.remove() }, '×'));
    rows.append(row);
    return from;
  };
  for (const rule of rules.filter((r) => r.weekday === weekday)) addRow(rule.start, rule.end);
  const element = h(
    'fieldset',
    { class: 'day' },
    h('legend', {}, name),
    rows,
    h('button', { type: 'button', class: 'secondary add', id: `avail-add-${weekday}`, onclick: () => addRow().focus() }, t('avail.add', { day: name })),
  );
  const read = () =>
    Array.from(rows.querySelectorAll<HTMLElement>('.interval')).map((row) => ({
      weekday,
      start: row.querySelector<HTMLInputElement>('input.from')!.value,
      end: row.querySelector<HTMLInputElement>('input.to')!.value,
    }));
  return { element, read };
}

export function weeklyForm(hostId: string, current: Availability, events: WeeklyFormEvents): WeeklyForm {
  const zoneInput = h('select', { id: 'avail-zone', name: 'timeZone' });
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [current.timeZone];
  for (const z of zones.includes(current.timeZone) ? zones : [current.timeZone, ...zones]) zoneInput.append(h('option', { value: z, selected: z === current.timeZone }, z));
  const buffer = h('input', { id: 'avail-buffer', name: 'bufferMinutes', type: 'number', min: 0, max: 240, step: 5, value: current.bufferMinutes });
  const days = [1, 2, 3, 4, 5, 6, 7].map((weekday) => dayBox(weekday, current.weekly));
  const save = h('button', { type: 'submit', id: 'avail-save' }, t('avail.save'));
  const element = h(
    'form',
    { class: 'card availability', id: 'avail-form' },
    h('p', {}, h('label', { for: 'avail-zone' }, t('avail.zone')), ' ', zoneInput),
    h('h2', {}, t('avail.weekly')),
    h('div', { class: 'days' }, ...days.map((d) => d.element)),
    h('p', {}, h('label', { for: 'avail-buffer' }, t('avail.buffer')), ' ', buffer),
    h('p', {}, save),
  );
  const draft = (): Draft => ({
    timeZone: zoneInput.value,
    bufferMinutes: Number(buffer.value),
    minimumNoticeMinutes: current.minimumNoticeMinutes,
    horizonDays: current.horizonDays,
    weekly: days.flatMap((d) => d.read()),
    overrides: current.overrides,
  });
  let savedJson = JSON.stringify(draft());
  element.addEventListener('input', events.onEdit);
  element.addEventListener('change', events.onEdit);
  element.addEventListener('click', (e) => {
    if ((e.target as Element).closest('button.add, button.remove')) events.onEdit();
  });
  element.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = draft();
    void withProgress(save, () => sendJson<Availability>('PUT', `/hosts/${hostId}/availability`, body)).then(
      (saved) => {
        savedJson = JSON.stringify(draft());
        events.onSaved(saved);
      },
      events.onError,
    );
  });
  return { element, draft, unsaved: (d) => JSON.stringify(d) !== savedJson };
}
