/**
 * #/defences: a jury member's upcoming defences (a coordinator's: all of
 * them), from GET /defences. Each with the candidate and their path, the time
 * in the viewer's zone (and the candidate's and each fellow member's own), the
 * panel, the candidate's path and evaluations, and the way into the room once
 * it opens (the list turns the link on by itself at the opening time).
 */
import { getJson, type User } from './api.ts';
import { clear, h } from './dom.ts';
import { t } from './i18n.ts';
import { describeZone, formatDateTime, formatTime } from './time.ts';
import { backLink, statusLine } from './ui.ts';

interface Person {
  userId: string;
  name: string;
  timeZone: string;
}

export interface DefenceItem {
  id: string;
  startsAt: string;
  endsAt: string;
  pathTitle: string;
  candidate: Person;
  jury: Person[];
  roomOpensAt: string;
  roomClosesAt: string;
  roomOpen: boolean;
}

/** Longest wait a browser timer takes (about 24.8 days). */
const MAX_TIMER = 2 ** 31 - 1;

/** Whether the room of a defence takes people at `now` (the list's answer was right when it was made). */
export const roomOpenAt = (d: Pick<DefenceItem, 'roomOpensAt' | 'roomClosesAt'>, now: number): boolean =>
  now >= Date.parse(d.roomOpensAt) && now <= Date.parse(d.roomClosesAt);

export function juryDefencesView(viewer: User): HTMLElement {
  const zone = viewer.timeZone;
  const status = statusLine('jury-status');
  const list = h('ul', { class: 'sessions defences', id: 'defences-list', 'aria-busy': 'true' });
  let defences: DefenceItem[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  const item = (d: DefenceItem, now: number): HTMLElement => {
    const titleId = `defence-${d.id}`;
    const open = roomOpenAt(d, now);
    const member = (p: Person) =>
      h(
        'li',
        { 'data-user-id': p.userId },
        p.userId === viewer.id ? t('room.you', { name: p.name }) : t('jury.member', { name: p.name, time: formatTime(d.startsAt, p.timeZone), zone: describeZone(p.timeZone) }),
      );
    return h(
      'li',
      { class: `session defence${open ? ' open' : ''}`, 'data-session-id': d.id, 'data-room-open': open ? 'true' : 'false', 'aria-labelledby': titleId },
      h('h2', { id: titleId }, d.candidate.name),
      h('p', { class: 'path-title' }, t('jury.path', { path: d.pathTitle })),
      h('p', {}, h('time', { datetime: d.startsAt }, formatDateTime(d.startsAt, zone)), ' – ', h('time', { datetime: d.endsAt }, formatTime(d.endsAt, zone))),
      h('p', { class: 'muted' }, t('jury.candidateTime', { time: formatTime(d.startsAt, d.candidate.timeZone), zone: describeZone(d.candidate.timeZone) })),
      h('h3', { id: `${titleId}-panel` }, t('jury.panel')),
      h('ul', { class: 'panel', 'aria-labelledby': `${titleId}-panel` }, ...d.jury.map(member)),
      h(
        'p',
        { class: 'actions' },
        open
          ? h('a', { class: 'button join', href: `#/sessions/${d.id}`, 'aria-describedby': titleId }, t('jury.join'))
          : h('span', { class: 'opens' }, t('jury.opensAt', { time: formatDateTime(d.roomOpensAt, zone) })),
        ' ',
        h('a', { class: 'candidate-path', href: `#/students/${d.candidate.userId}/path`, 'aria-describedby': titleId }, t('sessions.candidatePath')),
      ),
    );
  };

  const render = () => {
    if (timer) clearTimeout(timer);
    if (!list.isConnected && timer !== undefined) return; // the screen was left
    const now = Date.now();
    clear(list);
    if (defences.length === 0) list.append(h('li', { class: 'muted' }, t('jury.none')));
    for (const d of defences) list.append(item(d, now));
    // At the next opening or closing of a room, the list changes by itself.
    const changes = defences.flatMap((d) => [Date.parse(d.roomOpensAt), Date.parse(d.roomClosesAt) + 1]).filter((at) => at > now);
    if (changes.length) timer = setTimeout(render, Math.min(Math.min(...changes) - now, MAX_TIMER));
  };

  void getJson<{ timeZone: string; defences: DefenceItem[] }>(`/defences?timeZone=${encodeURIComponent(zone)}`).then(
    (res) => {
      defences = res.defences;
      list.removeAttribute('aria-busy');
      render();
    },
    (err: unknown) => {
      list.removeAttribute('aria-busy');
      status.fail(err);
    },
  );

  return h(
    'div',
    { class: 'defences-page' },
    h('h1', {}, t('jury.title')),
    h('p', { class: 'muted', id: 'defences-zone' }, t('common.zone', { zone: describeZone(zone) })),
    status.element,
    list,
    backLink(),
  );
}
