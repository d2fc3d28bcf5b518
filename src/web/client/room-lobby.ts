/**
 * The waiting screen over the room: shown while the room isolates us (a
 * defence lobby) or the defence says the candidate waits. Either news may
 * arrive first, so both are kept and the overlay shows while either holds.
 */
import { h } from './dom.ts';
import { t } from './i18n.ts';

export interface LobbyOverlay {
  element: HTMLElement;
  /** The room isolated us, or let us back in. */
  setIsolated(isolated: boolean): void;
  /** The defence's view for the candidate (lobby, waiting, …): the first two keep the overlay up, with their own words. */
  setCandidateView(view: string): void;
}

export function lobbyOverlay(): LobbyOverlay {
  const element = h('div', { class: 'lobby-overlay', id: 'lobby', role: 'status', hidden: true }, t('room.isolated'));
  let roomIsolated = false;
  let defenceWaiting = false;
  const render = () => {
    element.hidden = !(roomIsolated || defenceWaiting);
  };
  return {
    element,
    setIsolated(isolated) {
      roomIsolated = isolated;
      render();
    },
    setCandidateView(view) {
      defenceWaiting = view === 'lobby' || view === 'waiting';
      element.textContent = view === 'waiting' ? t('defence.waiting') : t('defence.lobby');
      render();
    },
  };
}
