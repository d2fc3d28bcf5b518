/**
 * The role screens, by hash route, and the links to them on the sessions
 * page: what each role does in the browser besides joining a call.
 */
import type { User } from './api.ts';
import { availabilityView } from './availability.ts';
import { bookingView } from './booking.ts';
import { attendanceView, defenceScheduleView } from './coordinator.ts';
import { h } from './dom.ts';
import { evaluationView } from './evaluation.ts';
import { juryDefencesView } from './jury-view.ts';
import { t, type MessageKey } from './i18n.ts';
import { pathView, studentsView } from './path-view.ts';
import { webhooksView } from './webhooks-view.ts';

type Role = User['role'];
interface Route {
  pattern: RegExp;
  roles: Role[];
  view: (user: User, match: RegExpExecArray) => HTMLElement;
}

const UUID = '([0-9a-fA-F-]{36})';
const ROUTES: Route[] = [
  { pattern: /^#\/book$/, roles: ['student'], view: (u) => bookingView(u) },
  { pattern: /^#\/path$/, roles: ['student'], view: (u) => pathView(u.id, u) },
  { pattern: /^#\/availability$/, roles: ['mentor', 'jury'], view: (u) => availabilityView(u) },
  { pattern: /^#\/students$/, roles: ['mentor'], view: (u) => studentsView(u) },
  { pattern: new RegExp(`^#/students/${UUID}/path$`), roles: ['mentor', 'jury', 'coordinator'], view: (u, m) => pathView(m[1]!, u) },
  { pattern: new RegExp(`^#/sessions/${UUID}/evaluate$`), roles: ['mentor'], view: (u, m) => evaluationView(m[1]!, u) },
  { pattern: /^#\/defences\/new$/, roles: ['coordinator'], view: (u) => defenceScheduleView(u) },
  { pattern: /^#\/defences$/, roles: ['jury', 'coordinator'], view: (u) => juryDefencesView(u) },
  { pattern: /^#\/attendance$/, roles: ['coordinator'], view: (u) => attendanceView(u) },
  { pattern: /^#\/webhooks$/, roles: ['coordinator'], view: (u) => webhooksView(u) },
];

/** Links shown on the sessions page, per role. */
const NAV: Record<Role, Array<[string, MessageKey]>> = {
  student: [
    ['#/book', 'nav.book'],
    ['#/path', 'nav.path'],
  ],
  mentor: [
    ['#/availability', 'nav.availability'],
    ['#/students', 'nav.students'],
  ],
  jury: [
    ['#/defences', 'nav.defences'],
    ['#/availability', 'nav.availability'],
  ],
  coordinator: [
    ['#/defences/new', 'nav.defence'],
    ['#/defences', 'jury.title'],
    ['#/attendance', 'nav.attendance'],
    ['#/webhooks', 'nav.webhooks'],
  ],
};

export const isRoleScreen = (hash: string): boolean => ROUTES.some((r) => r.pattern.test(hash));

/** The screen of `hash` for this person, or undefined (the sessions page is shown). */
export function roleScreen(hash: string, user: User): HTMLElement | undefined {
  for (const route of ROUTES) {
    const m = route.pattern.exec(hash);
    if (m && route.roles.includes(user.role)) return route.view(user, m);
  }
  return undefined;
}

export function roleNav(user: User): HTMLElement | null {
  const links = NAV[user.role];
  if (links.length === 0) return null;
  return h('nav', { class: 'role-nav', 'aria-label': t('nav.label') }, h('ul', {}, ...links.map(([href, key]) => h('li', {}, h('a', { href, class: 'button secondary', id: `nav-${href.slice(2).replace(/\//g, '-')}` }, t(key))))));
}
