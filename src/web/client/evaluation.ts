/**
 * #/sessions/<id>/evaluate (mentor): the session's record (who attended, how
 * long) and, on the same page, the evaluation form: validated or needs
 * revision, comments, the live code review's comments attached.
 */
import { getJson, sendJson, type User } from './api.ts';
import { append, clear, h } from './dom.ts';
import { t } from './i18n.ts';
import { evaluationBlock, labelOf, type Evaluation, type Progress } from './path-view.ts';
import { formatDateTime } from './time.ts';
import { loading, statusLine, withProgress } from './ui.ts';

interface SessionInfo {
  id: string;
  startsAt: string;
  projectTitle: string | null;
  studentId: string;
  participants: Array<{ userId: string; name: string; role: string }>;
}
interface Attendance {
  state: string;
  participants: Array<{ userId: string; name: string; role: string; status: string; attendedSeconds: number }>;
}

export function attendanceTable(a: Attendance, id: string): HTMLElement {
  return h(
    'table',
    { class: 'attendance', id },
    h('caption', {}, labelOf('att.state', a.state)),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('att.person')), h('th', { scope: 'col' }, t('att.role')), h('th', { scope: 'col' }, t('att.status')), h('th', { scope: 'col' }, t('att.minutes')))),
    h(
      'tbody',
      {},
      ...a.participants.map((p) =>
        h('tr', { 'data-user-id': p.userId }, h('th', { scope: 'row' }, p.name), h('td', {}, labelOf('role', p.role)), h('td', {}, labelOf('path.attendance', p.status)), h('td', {}, Math.round(p.attendedSeconds / 60))),
      ),
    ),
  );
}

export function evaluationView(sessionId: string, viewer: User): HTMLElement {
  const zone = viewer.timeZone;
  const status = statusLine('eval-status');
  const title = h('h1', { id: 'eval-title' }, t('common.loading'));
  const record = h('section', { class: 'card', 'aria-labelledby': 'eval-record-title', id: 'eval-record' }, loading());
  const formBox = h('div', {});
  const back = h('p', {}, h('a', { href: '#/students', class: 'back' }, t('nav.students')));

  void (async () => {
    try {
      const session = await getJson<SessionInfo>(`/sessions/${sessionId}?timeZone=${encodeURIComponent(zone)}`);
      const [progress, attendance] = await Promise.all([
        getJson<Progress>(`/students/${session.studentId}/progress`),
        getJson<Attendance>(`/sessions/${sessionId}/attendance`).catch(() => undefined),
      ]);
      const student = session.participants.find((p) => p.userId === session.studentId);
      title.textContent = t('eval.title', { date: formatDateTime(session.startsAt, zone) });
      back.replaceChildren(h('a', { href: `#/students/${session.studentId}/path`, class: 'back', id: 'eval-back' }, t('students.open', { name: student?.name ?? '' })));
      clear(record);
      append(record,
        h('h2', { id: 'eval-record-title' }, t('eval.record')),
        h('p', {}, t('eval.student', { name: student?.name ?? '' })),
        h('p', {}, t('eval.project', { project: session.projectTitle ?? '' })),
        attendance ? attendanceTable(attendance, 'eval-attendance') : null,
      );
      const existing = progress.evaluations.find((e) => e.sessionId === sessionId);
      if (existing) {
        formBox.append(h('p', { id: 'eval-existing' }, t('eval.already', { outcome: labelOf('path.outcome', existing.outcome) })), evaluationBlock(existing, zone));
        return;
      }
      formBox.append(form(session.studentId));
    } catch (err) {
      clear(record);
      status.fail(err);
    }
  })();

  function form(studentId: string): HTMLElement {
    const validated = h('input', { type: 'radio', name: 'outcome', id: 'eval-validated', value: 'validated', required: true });
    const revision = h('input', { type: 'radio', name: 'outcome', id: 'eval-needs-revision', value: 'needs_revision' });
    const feedback = h('textarea', { id: 'eval-feedback', name: 'feedback', required: true, rows: 6, maxlength: 20000 });
    const attach = h('input', { type: 'checkbox', id: 'eval-attach', name: 'attachSessionReview', checked: true });
    const submit = h('button', { type: 'submit', id: 'eval-submit' }, t('eval.submit'));
    const element = h(
      'form',
      { class: 'card', id: 'eval-form', 'aria-labelledby': 'eval-form-title' },
      h('h2', { id: 'eval-form-title' }, t('eval.formTitle')),
      h(
        'fieldset',
        {},
        h('legend', {}, t('eval.outcome')),
        h('p', {}, validated, ' ', h('label', { for: 'eval-validated' }, t('eval.validated'))),
        h('p', {}, revision, ' ', h('label', { for: 'eval-needs-revision' }, t('eval.needsRevision'))),
      ),
      h('p', {}, h('label', { for: 'eval-feedback' }, t('eval.feedback'))),
      feedback,
      h('p', {}, attach, ' ', h('label', { for: 'eval-attach' }, t('eval.attachReview'))),
      h('p', {}, submit),
    );
    element.addEventListener('submit', (e) => {
      e.preventDefault();
      const outcome = validated.checked ? 'validated' : 'needs_revision';
      void withProgress(submit, () =>
        sendJson<Evaluation>('POST', `/sessions/${sessionId}/evaluation`, { outcome, feedback: feedback.value.trim(), attachSessionReview: attach.checked }),
      ).then(
        (saved) => {
          element.replaceWith(evaluationBlock(saved, zone));
          status.info(t('eval.done'));
          void studentId;
        },
        (err: unknown) => status.fail(err),
      );
    });
    return element;
  }

  return h('div', { class: 'evaluation-page' }, title, record, status.element, formBox, back);
}
