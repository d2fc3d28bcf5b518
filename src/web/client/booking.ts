/**
 * #/book (student): book a mentoring session with one's mentor. The
 * mentor's free slots are shown in the student's own zone, a week at a time,
 * opening on the week of the next free slot (which is offered first). The
 * same page lists the student's booked sessions with Move and Cancel, each
 * stating the policy ("counts as late") before it applies.
 */
import { DateTime } from 'luxon';
import { getJson, sendJson, type User } from './api.ts';
import { append, clear, h } from './dom.ts';
import { locale, t } from './i18n.ts';
import { formatDateTime, formatTime, describeZone } from './time.ts';
import { backLink, loading, statusLine, withProgress } from './ui.ts';

interface Slot {
  startsAt: string;
  endsAt: string;
}
interface Policy {
  mentoringMinutes: number;
  lateCancelNoticeHours: number;
}
interface Enrollment {
  projects: Array<{ id: string; title: string; position: number; state: string }>;
}
interface Session {
  id: string;
  kind: string;
  status: string;
  startsAt: string;
  endsAt: string;
  projectTitle: string | null;
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
  const weekTitle = h('h2', { id: 'book-week-title', tabindex: -1 });
  const week = h('div', { id: 'book-week', class: 'week', 'aria-labelledby': 'book-week-title', 'aria-busy': 'true' });
  const confirmBox = h('section', { id: 'book-confirm', class: 'card confirm', hidden: true, 'aria-labelledby': 'book-confirm-title' });
  const mine = h('ul', { id: 'book-mine', class: 'sessions' });
  const prev = h('button', { type: 'button', class: 'secondary', id: 'book-prev' }, t('book.prevWeek'));
  const next = h('button', { type: 'button', class: 'secondary', id: 'book-next-week' }, t('book.nextWeek'));

  let mentor: User | undefined;
  let policy: Policy = { mentoringMinutes: 45, lateCancelNoticeHours: 24 };
  let weekStart = DateTime.now().setZone(zone).startOf('week');
  let moving: Session | undefined;

  const isLate = (startsAt: string) => Date.parse(startsAt) - Date.now() < policy.lateCancelNoticeHours * 3_600_000;
  const projectTitle = () => projectSelect.selectedOptions[0]?.textContent ?? '';

  function slotButton(slot: Slot, label: string, id?: string): HTMLButtonElement {
    return h(
      'button',
      { type: 'button', class: 'slot', 'data-starts-at': slot.startsAt, ...(id ? { id } : {}), onclick: () => askConfirm(slot) },
      label,
    );
  }

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
      moving ? h('p', { class: 'policy' }, isLate(moving.startsAt) ? t('book.moveLate', { hours: policy.lateCancelNoticeHours }) : t('book.moveOnTime', { hours: policy.lateCancelNoticeHours })) : null,
      h('p', { class: 'actions' }, button, ' ', h('button', { type: 'button', class: 'secondary', onclick: () => ((confirmBox.hidden = true), status.clear()) }, t('book.cancelPick'))),
    );
    confirmBox.hidden = false;
    button.focus();
  }

  async function loadWeek(): Promise<void> {
    const end = weekStart.plus({ days: 7 });
    weekTitle.textContent = t('book.week', { date: dayLabel(weekStart) });
    week.setAttribute('aria-busy', 'true');
    prev.disabled = weekStart <= DateTime.now().setZone(zone).startOf('week');
    try {
      const slots = await allSlots<Slot>(slotsUrl(mentor!.id, weekStart, end, zone));
      clear(week);
      if (slots.length === 0) week.append(h('p', { class: 'muted' }, t('book.noneWeek')));
      for (let d = weekStart; d < end; d = d.plus({ days: 1 })) {
        const dayEnd = d.plus({ days: 1 });
        const ofDay = slots.filter((s) => Date.parse(s.startsAt) >= d.toMillis() && Date.parse(s.startsAt) < dayEnd.toMillis());
        if (ofDay.length === 0) continue;
        const headingId = `day-${d.toISODate()}`;
        week.append(
          h(
            'section',
            { class: 'day', 'aria-labelledby': headingId },
            h('h3', { id: headingId }, dayLabel(d)),
            h('ul', { class: 'slots', 'aria-label': t('book.slotsOf', { day: dayLabel(d) }) }, ...ofDay.map((s) => h('li', {}, slotButton(s, formatTime(s.startsAt, zone))))),
          ),
        );
      }
    } catch (err) {
      status.fail(err);
    } finally {
      week.removeAttribute('aria-busy');
    }
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

  async function loadMine(): Promise<void> {
    const { sessions } = await getJson<{ sessions: Session[] }>(`/sessions?timeZone=${encodeURIComponent(zone)}`);
    clear(mine);
    const booked = sessions.filter((s) => s.kind === 'mentoring' && s.status === 'scheduled');
    if (booked.length === 0) mine.append(h('li', { class: 'muted' }, t('book.noMine')));
    for (const s of booked) {
      const titleId = `mine-${s.id}`;
      const panel = h('div', { class: 'policy-panel', hidden: true });
      const cancel = h('button', { type: 'button', class: 'secondary', 'aria-describedby': titleId }, t('book.cancel'));
      const move = h('button', { type: 'button', class: 'secondary', 'aria-describedby': titleId }, t('book.reschedule'));
      cancel.addEventListener('click', () => {
        clear(panel);
        const yes = h('button', { type: 'button', class: 'danger' }, t('book.cancelConfirm'));
        yes.addEventListener('click', () => {
          void withProgress(yes, () => sendJson<{ late?: boolean }>('POST', `/sessions/${s.id}/cancel`, {})).then(
            (res) => {
              status.info(res.late ? t('book.cancelledLate') : t('book.cancelled'));
              void refresh();
            },
            (err: unknown) => status.fail(err),
          );
        });
        panel.append(
          h('p', { class: 'policy', role: 'note' }, isLate(s.startsAt) ? t('book.cancelLate', { hours: policy.lateCancelNoticeHours }) : t('book.cancelOnTime', { hours: policy.lateCancelNoticeHours })),
          h('p', { class: 'actions' }, yes, ' ', h('button', { type: 'button', class: 'secondary', onclick: () => (panel.hidden = true) }, t('book.keep'))),
        );
        panel.hidden = false;
        yes.focus();
      });
      move.addEventListener('click', () => {
        moving = s;
        clear(modeBox);
        modeBox.append(
          h('p', {}, t('book.moving', { date: formatDateTime(s.startsAt, zone) })),
          h('p', { class: 'policy' }, isLate(s.startsAt) ? t('book.moveLate', { hours: policy.lateCancelNoticeHours }) : t('book.moveOnTime', { hours: policy.lateCancelNoticeHours })),
          h('button', { type: 'button', class: 'secondary', onclick: () => ((moving = undefined), (modeBox.hidden = true)) }, t('book.keep')),
        );
        modeBox.hidden = false;
        weekTitle.focus();
      });
      mine.append(
        h(
          'li',
          { class: 'session', 'data-session-id': s.id },
          h('h3', { id: titleId }, s.projectTitle ?? t('sessions.kind.mentoring')),
          h('p', {}, h('time', { datetime: s.startsAt }, formatDateTime(s.startsAt, zone))),
          h('p', { class: 'actions' }, move, ' ', cancel),
          panel,
        ),
      );
    }
  }

  async function refresh(): Promise<void> {
    await Promise.all([loadNext(), loadWeek(), loadMine()]).catch((err: unknown) => status.fail(err));
  }

  prev.addEventListener('click', () => {
    weekStart = weekStart.minus({ weeks: 1 });
    void loadWeek();
  });
  next.addEventListener('click', () => {
    weekStart = weekStart.plus({ weeks: 1 });
    void loadWeek();
  });

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
      if (first) weekStart = DateTime.fromISO(first.startsAt).setZone(zone).startOf('week');
      await Promise.all([loadWeek(), loadMine()]);
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
    h('div', { class: 'week-nav' }, prev, weekTitle, next),
    week,
    confirmBox,
    status.element,
    h('h2', {}, t('book.mine')),
    mine,
    backLink(),
  );
}
