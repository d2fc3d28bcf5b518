/**
 * #/book (student): book a mentoring session with one's mentor. The
 * mentor's free slots are shown in the student's own zone, a week at a time
 * (booking-week.ts), opening on the week of the next free slot (which is
 * offered first). The same page lists the student's booked sessions with Move
 * and Cancel (booking-sessions.ts), each stating the policy ("counts as late")
 * before it applies.
 */
import { DateTime } from 'luxon';
import { getJson, sendJson, type User } from './api.ts';
import { bookedSessions, moveNote, type Policy, type Session } from './booking-sessions.ts';
import { weekOfSlots, type Slot } from './booking-week.ts';
import { append, clear, h } from './dom.ts';
import { locale, t } from './i18n.ts';
import { formatDateTime, formatTime, describeZone } from './time.ts';
import { backLink, loading, statusLine, withProgress } from './ui.ts';

interface Enrollment {
  projects: Array<{ id: string; title: string; position: number; state: string }>;
}

/** Projects a session can be about: the ones being worked on. */
const BOOKABLE = new Set(['in_progress', 'submitted', 'needs_revision']);
const SEARCH_DAYS = 28;

export const slotsUrl = (hostId: string, from: DateTime, to: DateTime, zone: string) =>
  `/hosts/${hostId}/slots?from=${encodeURIComponent(from.toUTC().toISO()!)}&to=${encodeURIComponent(to.toUTC().toISO()!)}&timeZone=${encodeURIComponent(zone)}`;

/**
 * Every slot of a search: an answer holds at most SLOT_SEARCH_MAX_SLOTS and
 * names the start to continue `after` (a week at a 5-minute step is two pages).
 */
export async function allSlots<S extends { startsAt: string }>(url: string): Promise<S[]> {
  const slots: S[] = [];
  let after: string | null = null;
  for (let page = 0; page < 20; page++) {
    const res: { slots: S[]; next: string | null } = await getJson(after === null ? url : `${url}&after=${encodeURIComponent(after)}`);
    slots.push(...res.slots);
    after = res.next;
    if (after === null) break;
  }
  return slots;
}

/** A day heading in the viewer's zone and language. */
export const dayLabel = (d: DateTime) => new Intl.DateTimeFormat(locale(), { weekday: 'long', day: 'numeric', month: 'long', timeZone: d.zoneName ?? undefined }).format(d.toJSDate());

export function bookingView(user: User): HTMLElement {
  const zone = user.timeZone;
  const status = statusLine('book-status');
  const intro = h('div', {}, loading());
  const projectSelect = h('select', { id: 'book-project', name: 'projectId' });
  const nextBox = h('div', { id: 'book-next', class: 'card next-slot' });
  const modeBox = h('div', { id: 'book-mode', hidden: true, class: 'card notice' });
  const confirmBox = h('section', { id: 'book-confirm', class: 'card confirm', hidden: true, 'aria-labelledby': 'book-confirm-title' });

  let mentor: User | undefined;
  let policy: Policy = { mentoringMinutes: 45, lateCancelNoticeHours: 24 };
  let moving: Session | undefined;

  const projectTitle = () => projectSelect.selectedOptions[0]?.textContent ?? '';
  const slotButton = (slot: Slot, label: string, id?: string): HTMLButtonElement =>
    h('button', { type: 'button', class: 'slot', 'data-starts-at': slot.startsAt, ...(id ? { id } : {}), onclick: () => askConfirm(slot) }, label);
  const week = weekOfSlots(zone, dayLabel, {
    slots: (from, to) => allSlots<Slot>(slotsUrl(mentor!.id, from, to, zone)),
    button: (slot, label) => slotButton(slot, label),
    onError: (err) => status.fail(err),
  });
  const mine = bookedSessions(zone, {
    policy: () => policy,
    onMove: startMove,
    onCancelled(late) {
      status.info(late ? t('book.cancelledLate') : t('book.cancelled'));
      void refresh();
    },
    onError: (err) => status.fail(err),
  });

  /** Picking a slot asks first: what, when, with whom, and (when moving) the policy. */
  function askConfirm(slot: Slot): void {
    clear(confirmBox);
    const button = h('button', { type: 'button', id: 'book-confirm-button' }, moving ? t('book.moveConfirm') : t('book.confirm'));
    const when = formatDateTime(slot.startsAt, zone);
    button.addEventListener('click', () => {
      const action = moving
        ? sendJson<Session>('POST', `/sessions/${moving.id}/reschedule`, { startsAt: slot.startsAt })
        : sendJson<Session>('POST', '/sessions', { startsAt: slot.startsAt, projectId: projectSelect.value });
      const wasMoving = !!moving;
      void withProgress(button, () => action).then(
        () => {
          confirmBox.hidden = true;
          moving = undefined;
          modeBox.hidden = true;
          status.info(wasMoving ? t('book.moved', { date: when }) : t('book.booked', { date: when }));
          void refresh();
        },
        (err: unknown) => status.fail(err),
      );
    });
    append(confirmBox,
      h('h2', { id: 'book-confirm-title' }, t('book.confirmTitle')),
      h('p', {}, t('book.confirmText', { project: moving?.projectTitle ?? projectTitle(), date: when, name: mentor?.name ?? '' })),
      moving ? h('p', { class: 'policy' }, moveNote(moving.startsAt, policy)) : null,
      h('p', { class: 'actions' }, button, ' ', h('button', { type: 'button', class: 'secondary', onclick: () => ((confirmBox.hidden = true), status.clear()) }, t('book.cancelPick'))),
    );
    confirmBox.hidden = false;
    button.focus();
  }

  /** Move: the next slot picked moves this session; the policy is said now, and "keep it" leaves move mode. */
  function startMove(s: Session): void {
    moving = s;
    clear(modeBox);
    modeBox.append(
      h('p', {}, t('book.moving', { date: formatDateTime(s.startsAt, zone) })),
      h('p', { class: 'policy' }, moveNote(s.startsAt, policy)),
      h('button', { type: 'button', class: 'secondary', onclick: () => ((moving = undefined), (modeBox.hidden = true)) }, t('book.keep')),
    );
    modeBox.hidden = false;
    week.title.focus();
  }

  async function loadNext(): Promise<Slot | undefined> {
    const now = DateTime.now().setZone(zone);
    // Only the first slot is shown: the first page is enough.
    const { slots } = await getJson<{ slots: Slot[] }>(slotsUrl(mentor!.id, now, now.plus({ days: SEARCH_DAYS }), zone));
    clear(nextBox);
    const first = slots[0];
    if (first) nextBox.append(h('p', {}, t('book.next', { date: formatDateTime(first.startsAt, zone) }), ' ', slotButton(first, t('book.pick', { time: formatTime(first.startsAt, zone) }), 'book-next-slot')));
    else nextBox.append(h('p', { class: 'muted' }, t('book.noneNext')));
    return first;
  }

  async function refresh(): Promise<void> {
    await Promise.all([loadNext(), week.load(), mine.load()]).catch((err: unknown) => status.fail(err));
  }

  void (async () => {
    try {
      const [m, enrollments, p] = await Promise.all([
        getJson<User>(`/students/${user.id}/mentor`),
        getJson<Enrollment[]>(`/students/${user.id}/enrollments`),
        getJson<Policy>('/scheduling/policy'),
      ]);
      mentor = m;
      policy = p;
      clear(intro);
      intro.append(h('p', {}, t('book.with', { name: m.name })), h('p', { class: 'muted', id: 'book-zone' }, t('common.zone', { zone: describeZone(zone) })));
      const open = enrollments.flatMap((e) => e.projects).filter((pr) => BOOKABLE.has(pr.state));
      for (const pr of open) projectSelect.append(h('option', { value: pr.id }, pr.title));
      if (open.length === 0) intro.append(h('p', { class: 'error' }, t('book.noProject')));
      const first = await loadNext();
      await Promise.all([first ? week.showWeekOf(DateTime.fromISO(first.startsAt)) : week.load(), mine.load()]);
    } catch (err) {
      clear(intro);
      status.fail(err);
    }
  })();

  return h(
    'div',
    { class: 'booking-page' },
    h('h1', { id: 'book-title' }, t('book.title')),
    intro,
    h('p', {}, h('label', { for: 'book-project' }, t('book.project')), ' ', projectSelect),
    nextBox,
    modeBox,
    week.nav,
    week.element,
    confirmBox,
    status.element,
    h('h2', {}, t('book.mine')),
    mine.element,
    backLink(),
  );
}
