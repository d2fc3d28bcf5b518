/** Who is present in the room: a list beside the grid with each person's role, and who is away (reconnecting). */
import { clear, h, nextId } from './dom.ts';
import { t, type MessageKey } from './i18n.ts';

export interface Present {
  userId: string;
  name: string;
  role: string;
  /** false while the person's connection is gone (within the room's reconnection grace). */
  connected: boolean;
}

export interface PresencePanel {
  element: HTMLElement;
  /** Lists these people (ours first, as given); the heading counts them. */
  render(everyone: readonly Present[]): void;
}

export function presencePanel(selfId: string): PresencePanel {
  const title = h('h2', { id: nextId('presence') });
  const list = h('ul', { id: 'presence-list' });
  const element = h('aside', { class: 'presence', 'aria-labelledby': title.id }, title, list);
  return {
    element,
    render(everyone) {
      title.textContent = t('room.present', { count: everyone.length });
      clear(list);
      for (const p of everyone) {
        const role = t(`role.${p.role}` as MessageKey);
        list.append(
          h(
            'li',
            { 'data-user-id': p.userId },
            p.userId === selfId ? t('room.you', { name: p.name }) : p.name,
            // A role without words of its own (a new one on the server) shows as it is named there.
            ` — ${role.startsWith('role.') ? p.role : role}`,
            p.connected === false ? ` (${t('room.away')})` : '',
          ),
        );
      }
    },
  };
}
