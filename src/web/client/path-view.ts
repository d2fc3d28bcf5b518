/**
 * #/path (student) and #/students/<id>/path (mentor, jury, coordinator): a
 * student's path with each project's state and the mentor's evaluations,
 * and their sessions with attendance. The mentor finds here the sessions
 * that still wait for an evaluation. #/students (mentor): their students.
 */
import { getJson, type User } from './api.ts';
import { clear, h } from './dom.ts';
import { dictionaries, t, type MessageKey } from './i18n.ts';
import { formatDateTime } from './time.ts';
import { backLink, loading, statusLine } from './ui.ts';

export interface Evaluation {
  id: string;
  sessionId: string;
  projectId: string;
  outcome: string;
  feedback: string;
  codeReviewComments: Array<{ file?: string; line?: number; body: string }>;
  createdAt: string;
}
export interface Progress {
  studentId: string;
  path: { title: string };
  projects: Array<{ id: string; position: number; title: string; state: string }>;
  validatedCount: number;
  sessions: Array<{ id: string; kind: string; projectId: string | null; startsAt: string; status: string; attendance: string }>;
  evaluations: Evaluation[];
}
interface Student {
  id: string;
  name: string;
}

/** A translated label from a family of keys, falling back to the raw value (a state a newer server added). */
export const labelOf = (prefix: string, value: string): string => {
  const key = `${prefix}.${value}`;
  return key in dictionaries.en ? t(key as MessageKey) : value;
};

const ATTENDED = new Set(['present', 'late', 'left_early', 'took_place', 'in_progress']);

export function evaluationBlock(e: Evaluation, zone: string): HTMLElement {
  return h(
    'div',
    { class: `evaluation ${e.outcome}`, 'data-outcome': e.outcome },
    h('p', { class: 'outcome' }, t('path.evaluationOf', { outcome: labelOf('path.outcome', e.outcome), date: formatDateTime(e.createdAt, zone) })),
    h('blockquote', {}, e.feedback),
    e.codeReviewComments.length
      ? h('ul', { class: 'review-comments' }, ...e.codeReviewComments.map((c) => h('li', {}, c.file ? h('span', { class: 'mono' }, `${c.file}${c.line ? `:${c.line}` : ''} `) : null, c.body)))
      : null,
  );
}

export function pathView(studentId: string, viewer: User): HTMLElement {
  const zone = viewer.timeZone;
  const status = statusLine('path-status');
  const title = h('h1', { id: 'path-title' }, t('path.projects'));
  const body = h('div', { 'aria-busy': 'true' }, loading());

  void (async () => {
    try {
      const [progress, students] = await Promise.all([
        getJson<Progress>(`/students/${studentId}/progress`),
        viewer.role === 'mentor' ? getJson<Student[]>(`/mentors/${viewer.id}/students`) : Promise.resolve([] as Student[]),
      ]);
      const name = viewer.id === studentId ? undefined : students.find((s) => s.id === studentId)?.name;
      title.textContent = name ? t('path.titleOf', { name, path: progress.path.title }) : t('path.title', { path: progress.path.title });
      clear(body);
      body.removeAttribute('aria-busy');
      const evaluated = new Set(progress.evaluations.map((e) => e.sessionId));
      const projects = h('ol', { class: 'projects', id: 'path-projects' });
      for (const p of [...progress.projects].sort((a, b) => a.position - b.position)) {
        const titleId = `project-${p.id}`;
        const evaluations = progress.evaluations.filter((e) => e.projectId === p.id);
        projects.append(
          h(
            'li',
            { class: `project state-${p.state}`, 'data-project-id': p.id, 'data-state': p.state, 'aria-labelledby': titleId },
            h('h3', { id: titleId }, p.title),
            h('p', { class: `badge state` }, labelOf('path.state', p.state)),
            ...evaluations.map((e) => evaluationBlock(e, zone)),
          ),
        );
      }
      const sessions = h('ul', { class: 'sessions', id: 'path-sessions' });
      const titles = new Map(progress.projects.map((p) => [p.id, p.title]));
      if (progress.sessions.length === 0) sessions.append(h('li', { class: 'muted' }, t('path.noSessions')));
      for (const s of [...progress.sessions].sort((a, b) => b.startsAt.localeCompare(a.startsAt))) {
        const titleId = `path-session-${s.id}`;
        const canEvaluate = viewer.role === 'mentor' && s.kind === 'mentoring' && ATTENDED.has(s.attendance) && !evaluated.has(s.id) && s.attendance !== 'in_progress';
        sessions.append(
          h(
            'li',
            { class: 'session', 'data-session-id': s.id, 'aria-labelledby': titleId },
            h('h3', { id: titleId }, labelOf('sessions.kind', s.kind), s.projectId && titles.get(s.projectId) ? ` — ${titles.get(s.projectId)}` : ''),
            h('p', {}, h('time', { datetime: s.startsAt }, formatDateTime(s.startsAt, zone)), ' · ', labelOf('path.attendance', s.attendance)),
            h(
              'p',
              { class: 'actions' },
              canEvaluate ? h('a', { class: 'button evaluate', href: `#/sessions/${s.id}/evaluate`, 'aria-describedby': titleId }, t('path.evaluate')) : null,
              ' ',
              ATTENDED.has(s.attendance) ? h('a', { href: `#/sessions/${s.id}/recordings`, 'aria-describedby': titleId }, t('path.recordings')) : null,
            ),
          ),
        );
      }
      body.append(
        h('p', { id: 'path-count' }, t('path.validated', { count: progress.validatedCount, total: progress.projects.length })),
        h('h2', {}, t('path.projects')),
        projects,
        h('h2', {}, t('path.sessions')),
        sessions,
      );
    } catch (err) {
      clear(body);
      body.removeAttribute('aria-busy');
      status.fail(err);
    }
  })();

  return h('div', { class: 'path-page' }, title, status.element, body, backLink());
}

export function studentsView(viewer: User): HTMLElement {
  const status = statusLine('students-status');
  const list = h('ul', { id: 'students-list', class: 'students', 'aria-busy': 'true' });
  void getJson<Student[]>(`/mentors/${viewer.id}/students`).then(
    (students) => {
      list.removeAttribute('aria-busy');
      if (students.length === 0) list.append(h('li', { class: 'muted' }, t('students.none')));
      for (const s of students) list.append(h('li', { 'data-student-id': s.id }, h('a', { href: `#/students/${s.id}/path` }, t('students.open', { name: s.name }))));
    },
    (err: unknown) => {
      list.removeAttribute('aria-busy');
      status.fail(err);
    },
  );
  return h('div', { class: 'students-page' }, h('h1', {}, t('students.title')), status.element, list, backLink());
}
