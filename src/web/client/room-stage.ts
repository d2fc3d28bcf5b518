/**
 * The screen-share stage: every screen shared in the room (ours included),
 * large, beside the code review panel. Hidden while nobody shares.
 */
import { h, playTrack } from './dom.ts';
import { t } from './i18n.ts';

export interface ScreenStage {
  /** The stage (`#stage`). */
  element: HTMLElement;
  /** Shows a shared screen under `key` (a consumer id, or 'self' for ours), replacing what had that key. */
  add(key: string, userId: string, track: MediaStreamTrack, self: boolean): void;
  remove(key: string): void;
}

/**
 * `nameOf` names the sharer; `onShown` hears whether any screen is on the stage
 * (the room lays the review panel out beside it then).
 */
export function screenStage(nameOf: (userId: string) => string, onShown: (shown: boolean) => void): ScreenStage {
  const element = h('div', { class: 'stage', id: 'stage', hidden: true });
  const screens = new Map<string, HTMLElement>();
  const shown = () => {
    element.hidden = screens.size === 0;
    onShown(screens.size > 0);
  };
  function remove(key: string): void {
    const figure = screens.get(key);
    if (!figure) return;
    figure.querySelector('video')!.srcObject = null;
    figure.remove();
    screens.delete(key);
    shown();
  }
  return {
    element,
    remove,
    add(key, userId, track, self) {
      remove(key);
      const video = h('video', { autoplay: true, playsinline: true, muted: true, 'data-user-id': userId, 'data-source': 'screen' });
      video.muted = true;
      const name = nameOf(userId);
      const label = t('room.screenOf', { name });
      const figure = h('figure', { class: `screen${self ? ' self' : ''}`, 'data-user-id': userId, 'aria-label': label }, video, h('figcaption', {}, label));
      playTrack(video, track);
      screens.set(key, figure);
      element.append(figure);
      shown();
    },
  };
}
