/**
 * #/availability (mentor, jury): weekly hours in one's own zone, time off,
 * and a preview of the slots students then see (two weeks, in the host's
 * zone), with a note when a clock change falls in that window (the hours
 * stay put on the host's clock, so they move for people elsewhere).
 */
import { DateTime } from 'luxon';
import { getJson, sendJson, type User } from './api.ts';
import { append, clear, h } from './dom.ts';
import { locale, t } from './i18n.ts';
import { dayLabel } from './booking.ts';
import { describeZone, formatDateTime, formatTime } from './time.ts';
import { backLink, errorText, loading, statusLine, withProgress } from './ui.ts';

interface Rule {
  weekday: number;
  start: string;
  end: string;
}
interface Availability {
  timeZone: string;
  bufferMinutes: number;
  minimumNoticeMinutes: number;
  horizonDays: number;
  weekly: Rule[];
  overrides: Array<{ date: string; intervals: Array<{ start: string; end: string }> }>;
}
interface TimeOff {
  id: string;
  startsAt: string;
  endsAt: string;
  reason: string;
}

const PREVIEW_DAYS = 14;
const PREVIEW_DEBOUNCE_MS = 400;

/** The body of PUT (and of the preview): what the form says. */
interface Draft {
  timeZone: string;
  bufferMinutes: number;
  minimumNoticeMinutes: number;
  horizonDays: number;
  weekly: Rule[];
  overrides: Availability['overrides'];
}

/** Weekday name (ISO 1 = Monday) in the current language. */
const weekdayName = (weekday: number) => new Intl.DateTimeFormat(locale(), { weekday: 'long', timeZone: 'UTC' }).format(new Date(Date.UTC(2024, 0, weekday)));

/** The first day in [from, from + days) on which the clocks of `zone` change (its offset at midnight and at its end differ). */
export function clockChange(zone: string, from: DateTime, days: number): DateTime | undefined {
  let day = from.setZone(zone).startOf('day');
  for (let i = 0; i < days; i++) {
    if (day.offset !== day.endOf('day').offset) return day;
    day = day.plus({ days: 1 });
  }
  return undefined;
}

export function availabilityView(user: User): HTMLElement {
  const status = statusLine('avail-status');
  const body = h('div', {}, loading());
  const preview = h('section', { id: 'avail-preview', class: 'card', 'aria-labelledby': 'avail-preview-title', 'aria-busy': 'true' });
  const timeOffList = h('ul', { id: 'avail-timeoff-list' });
  let zone = user.timeZone;

  /** The availability as the form shows it now (saved or not); undefined before the form is there. */
  let draftOf: (() => Draft) | undefined;
  let savedJson = '';
  let previewRun = 0;
  let previewTimer: ReturnType<typeof setTimeout> | undefined;

  /** The preview follows the form as it is edited (debounced): busy at once, so nobody reads a stale one. */
  function schedulePreview(): void {
    preview.setAttribute('aria-busy', 'true');
    if (previewTimer) clearTimeout(previewTimer);
    previewTimer = setTimeout(() => void loadPreview(), PREVIEW_DEBOUNCE_MS);
  }

  async function loadPreview(): Promise<void> {
    if (previewTimer) clearTimeout(previewTimer);
    previewTimer = undefined;
    const draft = draftOf?.();
    if (!draft) return;
    const run = ++previewRun;
    preview.setAttribute('aria-busy', 'true');
    const previewZone = draft.timeZone;
    const from = DateTime.now().setZone(previewZone);
    try {
      // The slots these rules give (the server's own slot rules, with time off and sessions), nothing saved.
      const slots: Array<{ startsAt: string }> = [];
      let after: string | null = null;
      for (let page = 0; page < 20; page++) {
        const res: { slots: Array<{ startsAt: string }>; next: string | null } = await sendJson('POST', `/hosts/${user.id}/availability/preview?days=${PREVIEW_DAYS}`, after === null ? draft : { ...draft, after });
        slots.push(...res.slots);
        after = res.next;
        if (after === null) break;
      }
      if (run !== previewRun) return; // edited meanwhile: a newer preview is on its way
      clear(preview);
      const unsaved = JSON.stringify(draft) !== savedJson;
      preview.dataset.draft = unsaved ? 'true' : 'false';
      append(
        preview,
        h('h2', { id: 'avail-preview-title' }, t('avail.preview')),
        h('p', { class: 'muted' }, t('common.zone', { zone: describeZone(previewZone) })),
        unsaved ? h('p', { class: 'notice', id: 'avail-preview-draft' }, t('avail.previewDraft')) : null,
      );
      const change = clockChange(previewZone, from, PREVIEW_DAYS);
      if (change) preview.append(h('p', { class: 'notice', id: 'avail-dst' }, t('avail.dst', { date: dayLabel(change), zone: previewZone })));
      if (slots.length === 0) preview.append(h('p', { class: 'muted' }, t('avail.previewNone')));
      else preview.append(h('p', { id: 'avail-preview-count' }, t('avail.previewCount', { count: slots.length })));
      const days = new Map<string, string[]>();
      for (const s of slots) {
        const d = DateTime.fromISO(s.startsAt).setZone(previewZone);
        const key = d.toISODate()!;
        days.set(key, [...(days.get(key) ?? []), s.startsAt]);
      }
      const list = h('dl', { class: 'preview' });
      for (const [key, starts] of days) {
        list.append(h('dt', { 'data-date': key }, dayLabel(DateTime.fromISO(key, { zone: previewZone }))), h('dd', {}, starts.map((s) => formatTime(s, previewZone)).join(' · ')));
      }
      preview.append(list);
    } catch (err) {
      if (run !== previewRun) return;
      // Rules the server refuses (two periods overlap, an end before its start): said in the preview, in the person's language.
      clear(preview);
      preview.dataset.draft = 'true';
      preview.append(h('h2', { id: 'avail-preview-title' }, t('avail.preview')), h('p', { class: 'error', id: 'avail-preview-error', role: 'status' }, errorText(err)));
    } finally {
      if (run === previewRun && previewTimer === undefined) preview.removeAttribute('aria-busy');
    }
  }

  async function loadTimeOff(): Promise<void> {
    const items = await getJson<TimeOff[]>(`/hosts/${user.id}/time-off`);
    clear(timeOffList);
    if (items.length === 0) timeOffList.append(h('li', { class: 'muted' }, t('avail.noTimeOff')));
    for (const item of items) {
      const from = formatDateTime(item.startsAt, zone);
      const to = formatDateTime(item.endsAt, zone);
      const remove = h('button', { type: 'button', class: 'secondary' }, t('avail.timeOffRemove', { from, to }));
      remove.addEventListener('click', () => {
        void withProgress(remove, () => sendJson('DELETE', `/hosts/${user.id}/time-off/${item.id}`)).then(
          () => void Promise.all([loadTimeOff(), loadPreview()]),
          (err: unknown) => status.fail(err),
        );
      });
      timeOffList.append(h('li', {}, `${from} – ${to}`, item.reason ? ` (${item.reason})` : '', ' ', remove));
    }
  }

  function form(current: Availability): HTMLElement {
    zone = current.timeZone;
    const zoneInput = h('select', { id: 'avail-zone', name: 'timeZone' });
    const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [current.timeZone];
    for (const z of zones.includes(current.timeZone) ? zones : [current.timeZone, ...zones]) zoneInput.append(h('option', { value: z, selected: z === current.timeZone }, z));
    const buffer = h('input', { id: 'avail-buffer', name: 'bufferMinutes', type: 'number', min: 0, max: 240, step: 5, value: current.bufferMinutes });
    const days: Array<{ weekday: number; rows: HTMLElement }> = [];
    const dayBoxes = [1, 2, 3, 4, 5, 6, 7].map((weekday) => {
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
      for (const rule of current.weekly.filter((r) => r.weekday === weekday)) addRow(rule.start, rule.end);
      days.push({ weekday, rows });
      return h(
        'fieldset',
        { class: 'day' },
        h('legend', {}, name),
        rows,
        h('button', { type: 'button', class: 'secondary add', id: `avail-add-${weekday}`, onclick: () => addRow().focus() }, t('avail.add', { day: name })),
      );
    });
    const save = h('button', { type: 'submit', id: 'avail-save' }, t('avail.save'));
    const element = h(
      'form',
      { class: 'card availability', id: 'avail-form' },
      h('p', {}, h('label', { for: 'avail-zone' }, t('avail.zone')), ' ', zoneInput),
      h('h2', {}, t('avail.weekly')),
      h('div', { class: 'days' }, ...dayBoxes),
      h('p', {}, h('label', { for: 'avail-buffer' }, t('avail.buffer')), ' ', buffer),
      h('p', {}, save),
    );
    const read = (): Draft => ({
      timeZone: zoneInput.value,
      bufferMinutes: Number(buffer.value),
      minimumNoticeMinutes: current.minimumNoticeMinutes,
      horizonDays: current.horizonDays,
      weekly: days.flatMap(({ weekday, rows }) =>
        Array.from(rows.querySelectorAll<HTMLElement>('.interval')).map((row) => ({
          weekday,
          start: row.querySelector<HTMLInputElement>('input.from')!.value,
          end: row.querySelector<HTMLInputElement>('input.to')!.value,
        })),
      ),
      overrides: current.overrides,
    });
    draftOf = read;
    savedJson = JSON.stringify(read());
    // Every edit (a time typed, a period added or removed, the zone or buffer changed) updates the preview.
    element.addEventListener('input', schedulePreview);
    element.addEventListener('change', schedulePreview);
    element.addEventListener('click', (e) => {
      if ((e.target as Element).closest('button.add, button.remove')) schedulePreview();
    });
    element.addEventListener('submit', (e) => {
      e.preventDefault();
      const body = read();
      void withProgress(save, () => sendJson<Availability>('PUT', `/hosts/${user.id}/availability`, body)).then(
        (saved) => {
          zone = saved.timeZone;
          savedJson = JSON.stringify(read());
          status.info(t('avail.saved'));
          void loadPreview();
        },
        (err: unknown) => status.fail(err),
      );
    });
    return element;
  }

  function timeOffForm(): HTMLElement {
    const start = h('input', { type: 'date', id: 'timeoff-start', required: true });
    const end = h('input', { type: 'date', id: 'timeoff-end', required: true });
    const reason = h('input', { type: 'text', id: 'timeoff-reason', maxlength: 200 });
    const add = h('button', { type: 'submit', id: 'timeoff-add' }, t('avail.timeOffAdd'));
    const element = h(
      'form',
      { class: 'card', 'aria-labelledby': 'timeoff-title' },
      h('h2', { id: 'timeoff-title' }, t('avail.timeOff')),
      timeOffList,
      h('p', {}, h('label', { for: 'timeoff-start' }, t('avail.timeOffStart')), ' ', start, ' ', h('label', { for: 'timeoff-end' }, t('avail.timeOffEnd')), ' ', end),
      h('p', {}, h('label', { for: 'timeoff-reason' }, t('avail.timeOffReason')), ' ', reason),
      h('p', {}, add),
    );
    element.addEventListener('submit', (e) => {
      e.preventDefault();
      // Whole days on the host's own clock: from the first day's midnight to the midnight after the last.
      const startsAt = DateTime.fromISO(start.value, { zone }).startOf('day').toUTC().toISO();
      const endsAt = DateTime.fromISO(end.value, { zone }).plus({ days: 1 }).startOf('day').toUTC().toISO();
      void withProgress(add, () => sendJson('POST', `/hosts/${user.id}/time-off`, { startsAt, endsAt, ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) })).then(
        () => {
          start.value = end.value = reason.value = '';
          void Promise.all([loadTimeOff(), loadPreview()]);
        },
        (err: unknown) => status.fail(err),
      );
    });
    return element;
  }

  void getJson<Availability>(`/hosts/${user.id}/availability`).then(
    (current) => {
      clear(body);
      body.append(form(current), timeOffForm());
      void loadTimeOff().catch((err: unknown) => status.fail(err));
      void loadPreview();
    },
    (err: unknown) => {
      clear(body);
      status.fail(err);
    },
  );

  return h('div', { class: 'availability-page' }, h('h1', { id: 'avail-title' }, t('avail.title')), status.element, body, preview, backLink());
}
