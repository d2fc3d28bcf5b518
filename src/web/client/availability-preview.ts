/**
 * The slot preview of #/availability: the slots students would see in the next
 * two weeks under the rules as the form shows them now (saved or not), in the
 * host's zone, with a note when a clock change falls in that window. It
 * follows the form as it is edited (debounced) and says when it shows a draft.
 */
import { DateTime } from 'luxon';
import { sendJson } from './api.ts';
import type { Draft } from './availability-form.ts';
import { dayLabel } from './booking.ts';
import { append, clear, h } from './dom.ts';
import { t } from './i18n.ts';
import { describeZone, formatTime } from './time.ts';
import { errorText } from './ui.ts';

const PREVIEW_DAYS = 14;
const PREVIEW_DEBOUNCE_MS = 400;

/** The first day in [from, from + days) on which the clocks of `zone` change (its offset at midnight and at its end differ). */
export function clockChange(zone: string, from: DateTime, days: number): DateTime | undefined {
  let day = from.setZone(zone).startOf('day');
  for (let i = 0; i < days; i++) {
    if (day.offset !== day.endOf('day').offset) return day;
    day = day.plus({ days: 1 });
  }
  return undefined;
}

/** Where the preview reads the rules: the form's draft (undefined before the form is there), and whether it is saved. */
export interface DraftSource {
  draft(): Draft | undefined;
  unsaved(draft: Draft): boolean;
}

export interface SlotPreview {
  /** The preview section (`#avail-preview`). */
  element: HTMLElement;
  /** The rules were edited: busy at once (nobody reads a stale preview), loaded once the editing pauses. */
  schedule(): void;
  /** Loads the preview now. */
  load(): Promise<void>;
}

export function slotPreview(hostId: string, source: DraftSource): SlotPreview {
  const element = h('section', { id: 'avail-preview', class: 'card', 'aria-labelledby': 'avail-preview-title', 'aria-busy': 'true' });
  let run = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  /** The slots these rules give (the server's own slot rules, with time off and sessions), nothing saved. */
  async function slotsOf(draft: Draft): Promise<Array<{ startsAt: string }>> {
    const slots: Array<{ startsAt: string }> = [];
    let after: string | null = null;
    for (let page = 0; page < 20; page++) {
      const res: { slots: Array<{ startsAt: string }>; next: string | null } = await sendJson('POST', `/hosts/${hostId}/availability/preview?days=${PREVIEW_DAYS}`, after === null ? draft : { ...draft, after });
      slots.push(...res.slots);
      after = res.next;
      if (after === null) break;
    }
    return slots;
  }

  function render(slots: Array<{ startsAt: string }>, zone: string, from: DateTime, unsaved: boolean): void {
    clear(element);
    element.dataset.draft = unsaved ? 'true' : 'false';
    append(
      element,
      h('h2', { id: 'avail-preview-title' }, t('avail.preview')),
      h('p', { class: 'muted' }, t('common.zone', { zone: describeZone(zone) })),
      unsaved ? h('p', { class: 'notice', id: 'avail-preview-draft' }, t('avail.previewDraft')) : null,
    );
    const change = clockChange(zone, from, PREVIEW_DAYS);
    if (change) element.append(h('p', { class: 'notice', id: 'avail-dst' }, t('avail.dst', { date: dayLabel(change), zone })));
    if (slots.length === 0) element.append(h('p', { class: 'muted' }, t('avail.previewNone')));
    else element.append(h('p', { id: 'avail-preview-count' }, t('avail.previewCount', { count: slots.length })));
    const days = new Map<string, string[]>();
    for (const s of slots) {
      const key = DateTime.fromISO(s.startsAt).setZone(zone).toISODate()!;
      days.set(key, [...(days.get(key) ?? []), s.startsAt]);
    }
    const list = h('dl', { class: 'preview' });
    for (const [key, starts] of days) {
      list.append(h('dt', { 'data-date': key }, dayLabel(DateTime.fromISO(key, { zone }))), h('dd', {}, starts.map((s) => formatTime(s, zone)).join(' · ')));
    }
    element.append(list);
  }

  async function load(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const draft = source.draft();
    if (!draft) return;
    const mine = ++run;
    element.setAttribute('aria-busy', 'true');
    const from = DateTime.now().setZone(draft.timeZone);
    try {
      const slots = await slotsOf(draft);
      if (mine !== run) return; // edited meanwhile: a newer preview is on its way
      render(slots, draft.timeZone, from, source.unsaved(draft));
    } catch (err) {
      if (mine !== run) return;
      // Rules the server refuses (two periods overlap, an end before its start): said in the preview, in the person's language.
      clear(element);
      element.dataset.draft = 'true';
      element.append(h('h2', { id: 'avail-preview-title' }, t('avail.preview')), h('p', { class: 'error', id: 'avail-preview-error', role: 'status' }, errorText(err)));
    } finally {
      if (mine === run && timer === undefined) element.removeAttribute('aria-busy');
    }
  }

  return {
    element,
    load,
    schedule() {
      element.setAttribute('aria-busy', 'true');
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void load(), PREVIEW_DEBOUNCE_MS);
    },
  };
}
