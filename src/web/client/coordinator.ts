/**
 * Coordinator screens. #/defences/new: a defence's candidate and 2–3 jury
 * members, the slots where all of them are free (in the coordinator's
 * zone), scheduled with one click. #/attendance: a student's sessions and the
 * attendance of each, and the path's CSV export for auditors.
 */
import { DateTime } from 'luxon';
import { getBlob, getJson, sendJson, type User } from './api.ts';
import { append, clear, h } from './dom.ts';
import { t } from './i18n.ts';
import { dayLabel } from './booking.ts';
import { attendanceTable } from './evaluation.ts';
import { labelOf, type Progress } from './path-view.ts';
import { describeZone, formatDateTime, formatTime } from './time.ts';
import { backLink, loading, statusLine, withProgress } from './ui.ts';

const SEARCH_DAYS = 28;

type DefenceSlot = { startsAt: string; endsAt: string };

/** The slots where candidate and jury are all free, by day in the coordinator's zone; `pick` schedules one. */
function slotWeek(slots: DefenceSlot[], zone: string, pick: (slot: DefenceSlot, button: HTMLButtonElement) => void): HTMLElement {
  const byDay = new Map<string, DefenceSlot[]>();
  for (const s of slots) {
    const key = DateTime.fromISO(s.startsAt).setZone(zone).toISODate()!;
    byDay.set(key, [...(byDay.get(key) ?? []), s]);
  }
  const week = h('div', { class: 'week' });
  for (const [key, ofDay] of byDay) {
    const headingId = `defence-day-${key}`;
    const button = (s: DefenceSlot) => {
      const b = h('button', { type: 'button', class: 'slot', 'data-starts-at': s.startsAt, 'aria-describedby': headingId, title: t('defence.new.schedule', { date: formatDateTime(s.startsAt, zone) }) }, formatTime(s.startsAt, zone));
      b.addEventListener('click', () => pick(s, b));
      return h('li', {}, b);
    };
    week.append(h('section', { class: 'day', 'aria-labelledby': headingId }, h('h3', { id: headingId }, dayLabel(DateTime.fromISO(key, { zone }))), h('ul', { class: 'slots' }, ...ofDay.map(button))));
  }
  return week;
}

export function defenceScheduleView(viewer: User): HTMLElement {
  const zone = viewer.timeZone;
  const status = statusLine('defence-status');
  const candidate = h('select', { id: 'defence-candidate', name: 'studentId', required: true });
  const juryBox = h('div', { class: 'jury-choice', id: 'defence-jury' }, loading());
  const find = h('button', { type: 'submit', id: 'defence-find' }, t('defence.new.findSlots'));
  const results = h('section', { id: 'defence-slots', 'aria-labelledby': 'defence-slots-title', hidden: true });

  const chosenJury = () => Array.from(juryBox.querySelectorAll<HTMLInputElement>('input[type="checkbox"]')).filter((c) => c.checked).map((c) => c.value);

  const form = h(
    'form',
    { class: 'card', id: 'defence-form' },
    h('p', {}, h('label', { for: 'defence-candidate' }, t('defence.new.candidate')), ' ', candidate),
    h('fieldset', {}, h('legend', {}, t('defence.new.jury')), juryBox),
    h('p', {}, find),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const juryIds = chosenJury();
    if (juryIds.length < 2 || juryIds.length > 3) {
      status.info(t('defence.new.pickJury'));
      return;
    }
    const from = DateTime.now();
    const query = new URLSearchParams({ studentId: candidate.value, from: from.toUTC().toISO()!, to: from.plus({ days: SEARCH_DAYS }).toUTC().toISO()!, timeZone: zone });
    for (const id of juryIds) query.append('juryIds', id);
    status.clear();
    void withProgress(find, () => getJson<{ slots: Array<{ startsAt: string; endsAt: string }> }>(`/defences/slots?${query}`)).then(
      ({ slots }) => {
        clear(results);
        results.hidden = false;
        results.append(h('h2', { id: 'defence-slots-title' }, t('defence.new.slots')), h('p', { class: 'muted' }, t('common.zone', { zone: describeZone(zone) })));
        if (slots.length === 0) results.append(h('p', { class: 'muted' }, t('defence.new.noSlots')));
        results.append(
          slotWeek(slots, zone, (s, b) => {
            void withProgress(b, () => sendJson<{ id: string; startsAt: string }>('POST', '/defences', { studentId: candidate.value, juryIds, startsAt: s.startsAt })).then(
              (session) => {
                status.info(t('defence.new.scheduled', { date: formatDateTime(session.startsAt, zone) }));
                results.hidden = true;
              },
              (err: unknown) => status.fail(err),
            );
          }),
        );
      },
      (err: unknown) => status.fail(err),
    );
  });

  void Promise.all([getJson<User[]>('/people?role=student'), getJson<User[]>('/people?role=jury')]).then(
    ([students, jury]) => {
      for (const s of students) candidate.append(h('option', { value: s.id }, s.name));
      if (students.length === 0) status.info(t('defence.new.noCandidate'));
      clear(juryBox);
      for (const j of jury) {
        const id = `jury-${j.id}`;
        juryBox.append(h('p', {}, h('input', { type: 'checkbox', id, value: j.id, name: 'juryIds' }), ' ', h('label', { for: id }, `${j.name} (${describeZone(j.timeZone)})`)));
      }
    },
    (err: unknown) => {
      clear(juryBox);
      status.fail(err);
    },
  );

  return h('div', { class: 'defence-page' }, h('h1', {}, t('defence.new.title')), form, status.element, results, backLink());
}

/** The attendance CSV export for auditors: a path and a range of days, on the coordinator's own calendar. */
function exportForm(zone: string, status: { info(text: string): void; fail(err: unknown): void }): { element: HTMLElement; path: HTMLSelectElement } {
  const path = h('select', { id: 'att-path', name: 'pathId' });
  const today = DateTime.now().setZone(zone);
  const from = h('input', { type: 'date', id: 'att-from', required: true, value: today.minus({ days: 30 }).toISODate()! });
  const to = h('input', { type: 'date', id: 'att-to', required: true, value: today.toISODate()! });
  const exportButton = h('button', { type: 'submit', id: 'att-export' }, t('att.export'));
  const form = h(
    'form',
    { class: 'card', id: 'att-export-form', 'aria-labelledby': 'att-export-title' },
    h('h2', { id: 'att-export-title' }, t('att.exportTitle')),
    h('p', {}, h('label', { for: 'att-path' }, t('att.path')), ' ', path),
    h('p', {}, h('label', { for: 'att-from' }, t('att.exportFrom')), ' ', from, ' ', h('label', { for: 'att-to' }, t('att.exportTo')), ' ', to),
    h('p', {}, exportButton),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const fromIso = DateTime.fromISO(from.value, { zone }).startOf('day').toUTC().toISO()!;
    const toIso = DateTime.fromISO(to.value, { zone }).plus({ days: 1 }).startOf('day').toUTC().toISO()!;
    const query = new URLSearchParams({ pathId: path.value, from: fromIso, to: toIso });
    void withProgress(exportButton, () => getBlob(`/attendance/export.csv?${query}`)).then(
      (blob) => {
        // The export needs the bearer token, so it is fetched, then handed to the browser as a file.
        const url = URL.createObjectURL(blob);
        const a = h('a', { href: url, download: `attendance-${from.value}-${to.value}.csv`, hidden: true });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
        status.info(t('att.exportDone'));
      },
      (err: unknown) => status.fail(err),
    );
  });
  return { element: form, path };
}

export function attendanceView(viewer: User): HTMLElement {
  const zone = viewer.timeZone;
  const status = statusLine('att-status');
  const student = h('select', { id: 'att-student', name: 'studentId' });
  const show = h('button', { type: 'submit', id: 'att-show' }, t('att.show'));
  const sessions = h('section', { id: 'att-sessions', hidden: true, 'aria-labelledby': 'att-sessions-title' });
  const report = h('section', { id: 'att-report', hidden: true, class: 'card', 'aria-labelledby': 'att-report-title' });

  const pick = h('form', { class: 'card', id: 'att-pick' }, h('h2', {}, t('att.title')), h('p', {}, h('label', { for: 'att-student' }, t('att.student')), ' ', student), h('p', {}, show));
  pick.addEventListener('submit', (e) => {
    e.preventDefault();
    const name = student.selectedOptions[0]?.textContent ?? '';
    void withProgress(show, () => getJson<Progress>(`/students/${student.value}/progress`)).then(
      (progress) => {
        clear(sessions);
        report.hidden = true;
        sessions.hidden = false;
        const list = h('ul', { class: 'sessions' });
        const titles = new Map(progress.projects.map((p) => [p.id, p.title]));
        if (progress.sessions.length === 0) list.append(h('li', { class: 'muted' }, t('att.noSessions')));
        for (const s of [...progress.sessions].sort((a, b) => b.startsAt.localeCompare(a.startsAt))) {
          const date = formatDateTime(s.startsAt, zone);
          const open = h('button', { type: 'button', class: 'secondary' }, t('att.open', { date }));
          open.addEventListener('click', () => {
            void withProgress(open, () => getJson<Parameters<typeof attendanceTable>[0]>(`/sessions/${s.id}/attendance`)).then(
              (a) => {
                clear(report);
                report.append(h('h2', { id: 'att-report-title' }, t('att.open', { date })), attendanceTable(a, 'att-table'));
                report.hidden = false;
              },
              (err: unknown) => status.fail(err),
            );
          });
          list.append(
            h(
              'li',
              { class: 'session', 'data-session-id': s.id },
              h('h3', {}, labelOf('sessions.kind', s.kind), s.projectId && titles.get(s.projectId) ? ` — ${titles.get(s.projectId)}` : ''),
              h('p', {}, labelOf('path.attendance', s.attendance)),
              h('p', { class: 'actions' }, open, h('a', { href: `#/sessions/${s.id}/recordings`, class: 'recordings-link' }, t('att.recordings'))),
            ),
          );
        }
        append(sessions, h('h2', { id: 'att-sessions-title' }, t('att.sessionsOf', { name })), list);
      },
      (err: unknown) => status.fail(err),
    );
  });

  const exporter = exportForm(zone, status);
  void Promise.all([getJson<User[]>('/people?role=student'), getJson<Array<{ id: string; title: string }>>('/paths')]).then(
    ([students, paths]) => {
      for (const s of students) student.append(h('option', { value: s.id }, s.name));
      for (const p of paths) exporter.path.append(h('option', { value: p.id }, p.title));
    },
    (err: unknown) => status.fail(err),
  );

  return h('div', { class: 'attendance-page' }, h('h1', {}, t('nav.attendance')), status.element, pick, sessions, report, exporter.element, backLink());
}
