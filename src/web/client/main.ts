/**
 * Entry point of the browser client: header (who is signed in, language,
 * log out) and three screens chosen by the URL hash:
 *   #/login, #/sessions (upcoming sessions, calendar feed), #/sessions/<id> (the room),
 *   #/preferences (which reminders reach the person; the link in every mail),
 *   the role screens of screens.ts (#/book, #/availability, #/path, ...),
 *   #/sessions/<id>/recordings[/<recordingId>] (watching a recording again, replay-view.ts).
 * The room link is the one scheduling puts in calendar invitations.
 */
import { ApiError, currentUser, getJson, login, logout, onAuthChange, type User } from './api.ts';
import { append, clear, h, nextId } from './dom.ts';
import { browserLocale, chosenLocale, isLocale, LOCALE_NAMES, LOCALES, rememberLocale, setLocale, t, type MessageKey } from './i18n.ts';
import { preferencesView } from './preferences.ts';
import { isRoleScreen, roleNav, roleScreen } from './screens.ts';
import { errorText } from './ui.ts';
import { roomView, type RoomView } from './room-view.ts';
import { recordingsListView, replayView, type Screen } from './replay-view.ts';
import { describeZone, formatDateTime, formatTime } from './time.ts';

interface SessionItem {
  id: string;
  kind: string;
  status: string;
  startsAt: string;
  endsAt: string;
  projectTitle?: string | null;
  pathTitle?: string;
  studentId?: string;
  participants?: Array<{ userId: string; name: string; role: string }>;
}

const root = document.getElementById('app')!;
const header = document.getElementById('header')!;
let room: RoomView | undefined;
let screen: Screen | undefined;

function pickLocale(user: User | undefined): void {
  const fromQuery = new URLSearchParams(location.search).get('lang');
  setLocale(isLocale(fromQuery) ? fromQuery : (chosenLocale() ?? user?.locale ?? browserLocale()));
  document.title = t('app.title');
}

function renderHeader(user: User | undefined): void {
  clear(header);
  const langId = nextId('lang');
  const select = h('select', { id: langId, name: 'lang' });
  for (const l of LOCALES) select.append(h('option', { value: l, selected: l === document.documentElement.lang, lang: l }, LOCALE_NAMES[l]));
  select.addEventListener('change', () => {
    if (isLocale(select.value)) {
      rememberLocale(select.value);
      pickLocale(currentUser());
      // In a room, re-label in place: rebuilding the screen would leave the call
      // (shares stop, cameras blink, attendance and recording see a departure).
      if (room) {
        renderHeader(currentUser());
        room.relabel();
        header.querySelector<HTMLSelectElement>('select[name="lang"]')?.focus();
      } else void render();
    }
  });
  append(header,
    h('a', { href: '#main', class: 'skip' }, t('app.skip')),
    h('span', { class: 'brand' }, t('app.title')),
    h('span', { class: 'spacer' }),
    user ? h('span', { class: 'who', id: 'who' }, t('signedInAs', { name: user.name })) : null,
    h('label', { for: langId }, t('lang.label')),
    select,
    user ? h('button', { type: 'button', class: 'secondary', id: 'logout', onclick: () => void logout() }, t('logout')) : null,
  );
}

function loginView(): HTMLElement {
  const emailId = nextId('email');
  const passwordId = nextId('password');
  const email = h('input', { id: emailId, name: 'email', type: 'email', autocomplete: 'username', required: true });
  const password = h('input', { id: passwordId, name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'error', role: 'alert', id: 'login-error', hidden: true });
  const submit = h('button', { type: 'submit', id: 'login-submit' }, t('login.submit'));
  const form = h(
    'form',
    { class: 'card login', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, t('login.title')),
    h('label', { for: emailId }, t('login.email')),
    email,
    h('label', { for: passwordId }, t('login.password')),
    password,
    error,
    submit,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit.disabled = true;
    login(email.value, password.value).then(
      () => {
        const target = sessionStorage.getItem('ml.after-login');
        sessionStorage.removeItem('ml.after-login');
        go(target ?? '#/sessions');
      },
      (err: unknown) => {
        submit.disabled = false;
        error.hidden = false;
        error.textContent = err instanceof ApiError && err.status === 429 ? t('login.rateLimited') : err instanceof ApiError && err.status === 401 ? t('login.failed') : errorText(err);
        password.focus();
      },
    );
  });
  queueMicrotask(() => email.focus());
  return form;
}

function sessionsView(user: User): HTMLElement {
  const list = h('ul', { class: 'sessions', id: 'sessions-list', 'aria-busy': 'true' });
  const feed = h('div', { class: 'feed', id: 'calendar-feed' });
  const zoneNote = h('p', { class: 'muted', id: 'zone-note' }, t('sessions.timezone', { zone: describeZone(user.timeZone) }));
  const idInput = h('input', { id: 'session-id', name: 'sessionId', required: true, pattern: '[0-9a-fA-F-]{36}', autocomplete: 'off', class: 'mono' });
  const byId = h(
    'form',
    { class: 'by-id', onsubmit: (e: Event) => (e.preventDefault(), go(`#/sessions/${idInput.value.trim()}`)) },
    h('label', { for: 'session-id' }, t('sessions.sessionId')),
    idInput,
    h('button', { type: 'submit' }, t('sessions.join')),
  );

  void getJson<{ timeZone?: string; sessions: SessionItem[] } | SessionItem[]>(`/sessions?timeZone=${encodeURIComponent(user.timeZone)}`).then(
    (res) => {
      const sessions = Array.isArray(res) ? res : res.sessions;
      list.removeAttribute('aria-busy');
      if (sessions.length === 0) list.append(h('li', { class: 'muted' }, t('sessions.none')));
      for (const s of sessions) {
        const kindKey = `sessions.kind.${s.kind}` as MessageKey;
        const others = (s.participants ?? []).filter((p) => p.userId !== user.id).map((p) => p.name);
        const cancelled = s.status === 'cancelled';
        const titleId = `session-${s.id}`;
        list.append(
          h(
            'li',
            { class: `session${cancelled ? ' cancelled' : ''}`, 'data-session-id': s.id, 'aria-labelledby': titleId },
            h('h3', { id: titleId }, t(kindKey).startsWith('sessions.') ? s.kind : t(kindKey), s.projectTitle ? ` — ${s.projectTitle}` : ''),
            h('p', {}, h('time', { datetime: s.startsAt }, formatDateTime(s.startsAt, user.timeZone)), ' – ', h('time', { datetime: s.endsAt }, formatTime(s.endsAt, user.timeZone))),
            others.length ? h('p', { class: 'muted' }, t('sessions.with', { names: others.join(', ') })) : null,
            cancelled
              ? h('p', { class: 'badge' }, t('sessions.cancelled'))
              : h('a', { class: 'button', href: `#/sessions/${s.id}`, 'aria-describedby': titleId }, t('sessions.join')),
            h('a', { class: 'recordings-link', href: `#/sessions/${s.id}/recordings`, 'aria-describedby': titleId }, t('sessions.recordings')),
            // Before a defence, the jury reads the candidate's path and evaluations.
            s.kind === 'defence' && s.studentId && (user.role === 'jury' || user.role === 'coordinator')
              ? h('a', { class: 'recordings-link candidate-path', href: `#/students/${s.studentId}/path`, 'aria-describedby': titleId }, t('sessions.candidatePath'))
              : null,
          ),
        );
      }
    },
    () => {
      list.removeAttribute('aria-busy');
      list.append(h('li', { class: 'muted' }, t('sessions.unavailable')));
    },
  );
  void getJson<{ url: string }>('/calendar/feed').then(
    ({ url }) => {
      const id = nextId('feed');
      feed.append(
        h('h2', {}, t('sessions.calendar')),
        h('p', { class: 'muted', id }, t('sessions.calendarHelp')),
        h('p', {}, h('a', { href: url.replace(/^https?:/, 'webcal:'), 'aria-describedby': id, class: 'mono', id: 'calendar-feed-link' }, url)),
      );
    },
    () => {
      feed.hidden = true; // no calendar feed on this server: nothing to show
    },
  );

  return h(
    'div',
    { class: 'sessions-page' },
    roleNav(user),
    h('h1', {}, t('sessions.title')),
    zoneNote,
    list,
    feed,
    h('details', { class: 'card' }, h('summary', {}, t('sessions.openById')), byId),
    h('p', {}, h('a', { href: '#/preferences', id: 'preferences-link' }, t('preferences.link'))),
  );
}

function go(hash: string): void {
  if (location.hash === hash) void render();
  else location.hash = hash;
}

async function render(): Promise<void> {
  const user = currentUser();
  pickLocale(user);
  renderHeader(user);
  if (room) {
    const leaving = room;
    room = undefined;
    await leaving.dispose();
  }
  if (screen) {
    const leaving = screen;
    screen = undefined;
    await leaving.dispose();
  }
  clear(root);
  const hash = location.hash || '#/sessions';
  if (!user) {
    if (hash.startsWith('#/sessions/') || hash === '#/preferences' || isRoleScreen(hash)) sessionStorage.setItem('ml.after-login', hash);
    root.append(loginView());
    return;
  }
  const recording = /^#\/sessions\/([0-9a-fA-F-]{36})\/recordings(?:\/([0-9a-fA-F-]{36}))?$/.exec(hash);
  if (recording) {
    screen = recording[2] ? replayView(recording[1]!, recording[2], user) : recordingsListView(recording[1]!, user);
    root.append(screen.element);
    return;
  }
  const match = /^#\/sessions\/([0-9a-fA-F-]{36})$/.exec(hash);
  if (match) {
    room = roomView(match[1]!, user, go);
    root.append(room.element);
    return;
  }
  if (hash === '#/preferences') {
    root.append(preferencesView());
    return;
  }
  root.append(roleScreen(hash, user) ?? sessionsView(user));
}

onAuthChange((user) => {
  if (!user) go('#/login');
});
window.addEventListener('hashchange', () => void render());
void render();
