/**
 * The week of free slots on #/book: the host's slots of one week in the
 * viewer's zone, grouped by day, with previous/next week buttons (no going
 * back before this week).
 */
import { DateTime } from 'luxon';
import { h, clear } from './dom.ts';
import { t } from './i18n.ts';
import { formatTime } from './time.ts';

export interface Slot {
  startsAt: string;
  endsAt: string;
}

export interface WeekOfSlots {
  /** Previous week, the week's title, next week. */
  nav: HTMLElement;
  /** The slots (`#book-week`). */
  element: HTMLElement;
  /** The week's heading (`#book-week-title`), focusable: a move starts there. */
  title: HTMLElement;
  /** Shows the week that holds this day. */
  showWeekOf(day: DateTime): Promise<void>;
  /** Loads the shown week again. */
  load(): Promise<void>;
}

export interface WeekSource {
  /** Every free slot in [from, to). */
  slots(from: DateTime, to: DateTime): Promise<Slot[]>;
  /** The button that picks a slot. */
  button(slot: Slot, label: string): HTMLButtonElement;
  onError(err: unknown): void;
}

export function weekOfSlots(zone: string, dayLabel: (d: DateTime) => string, source: WeekSource): WeekOfSlots {
  const title = h('h2', { id: 'book-week-title', tabindex: -1 });
  const element = h('div', { id: 'book-week', class: 'week', 'aria-labelledby': 'book-week-title', 'aria-busy': 'true' });
  const prev = h('button', { type: 'button', class: 'secondary', id: 'book-prev' }, t('book.prevWeek'));
  const next = h('button', { type: 'button', class: 'secondary', id: 'book-next-week' }, t('book.nextWeek'));
  let weekStart = DateTime.now().setZone(zone).startOf('week');

  function day(d: DateTime, slots: readonly Slot[]): HTMLElement | undefined {
    const dayEnd = d.plus({ days: 1 });
    const ofDay = slots.filter((s) => Date.parse(s.startsAt) >= d.toMillis() && Date.parse(s.startsAt) < dayEnd.toMillis());
    if (ofDay.length === 0) return undefined;
    const headingId = `day-${d.toISODate()}`;
    return h(
      'section',
      { class: 'day', 'aria-labelledby': headingId },
      h('h3', { id: headingId }, dayLabel(d)),
      h('ul', { class: 'slots', 'aria-label': t('book.slotsOf', { day: dayLabel(d) }) }, ...ofDay.map((s) => h('li', {}, source.button(s, formatTime(s.startsAt, zone))))),
    );
  }

  async function load(): Promise<void> {
    const end = weekStart.plus({ days: 7 });
    title.textContent = t('book.week', { date: dayLabel(weekStart) });
    element.setAttribute('aria-busy', 'true');
    prev.disabled = weekStart <= DateTime.now().setZone(zone).startOf('week');
    try {
      const slots = await source.slots(weekStart, end);
      clear(element);
      if (slots.length === 0) element.append(h('p', { class: 'muted' }, t('book.noneWeek')));
      for (let d = weekStart; d < end; d = d.plus({ days: 1 })) {
        const section = day(d, slots);
        if (section) element.append(section);
      }
    } catch (err) {
      source.onError(err);
    } finally {
      element.removeAttribute('aria-busy');
    }
  }

  prev.addEventListener('click', () => {
    weekStart = weekStart.minus({ weeks: 1 });
    void load();
  });
  next.addEventListener('click', () => {
    weekStart = weekStart.plus({ weeks: 1 });
    void load();
  });
  return {
    nav: h('div', { class: 'week-nav' }, prev, title, next),
    element,
    title,
    load,
    showWeekOf(d) {
      weekStart = d.setZone(zone).startOf('week');
      return load();
    },
  };
}
