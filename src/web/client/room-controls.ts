/**
 * The room's toolbar: mute the mic, turn the camera off, share the screen,
 * show or hide the code review panel, the device menu and recording controls
 * (made elsewhere, placed here), and Leave. Buttons say what they will do and
 * carry `aria-pressed` for the state they toggle.
 */
import { h } from './dom.ts';
import { t } from './i18n.ts';
import type { RoomClient, Source } from './room-client.ts';
import { mediaErrorText } from './ui.ts';

/** What the buttons ask of the room. */
export type MediaActions = Pick<RoomClient, 'setPaused' | 'isPaused' | 'localTrack' | 'stopSource' | 'startScreen' | 'leave'>;

export interface ControlsBar {
  /** The toolbar (`role=toolbar`). */
  element: HTMLElement;
  /** Our own media changed: the matching button's words and pressed state follow. */
  localChanged(source: Source, track: MediaStreamTrack | undefined, paused: boolean): void;
}

export interface ControlsOptions {
  /** The code review panel the review button shows and hides (`#review-panel`). */
  reviewPanel: HTMLElement;
  /** Controls made by other components, placed between the review button and Leave (devices, recording, consent). */
  extra: readonly HTMLElement[];
  onError(text: string): void;
}

export function controlsBar(media: MediaActions, { reviewPanel, extra, onError }: ControlsOptions): ControlsBar {
  const toggle = (source: 'mic' | 'webcam') => () => void media.setPaused(source, !media.isPaused(source));
  const micButton = h('button', { type: 'button', id: 'toggle-mic', 'aria-pressed': 'false', onclick: toggle('mic') }, t('room.mic.mute'));
  const camButton = h('button', { type: 'button', id: 'toggle-cam', 'aria-pressed': 'false', onclick: toggle('webcam') }, t('room.cam.off'));
  const shareScreen = () => {
    const sharing = !!media.localTrack('screen');
    (sharing ? media.stopSource('screen') : media.startScreen()).catch((err: Error) => onError(t('room.screenFailed', { message: mediaErrorText(err) })));
  };
  const screenButton = h('button', { type: 'button', id: 'toggle-screen', 'aria-pressed': 'false', onclick: shareScreen }, t('room.screen.start'));
  const toggleReview = () => {
    reviewPanel.hidden = !reviewPanel.hidden;
    reviewButton.setAttribute('aria-expanded', reviewPanel.hidden ? 'false' : 'true');
  };
  const reviewButton = h('button', { type: 'button', id: 'toggle-review', 'aria-expanded': 'true', 'aria-controls': 'review-panel', onclick: toggleReview }, t('room.review'));
  const leaveButton = h('button', { type: 'button', class: 'danger', id: 'leave', onclick: () => void media.leave() }, t('room.leave'));
  const element = h('div', { class: 'controls', role: 'toolbar', 'aria-label': t('room.title') }, micButton, camButton, screenButton, reviewButton, ...extra, leaveButton);

  const press = (button: HTMLButtonElement, pressed: boolean, text: string) => {
    button.textContent = text;
    button.setAttribute('aria-pressed', pressed ? 'true' : 'false');
  };
  return {
    element,
    localChanged(source, track, paused) {
      if (source === 'screen') press(screenButton, !!track, track ? t('room.screen.stop') : t('room.screen.start'));
      else if (source === 'webcam') press(camButton, paused, paused ? t('room.cam.on') : t('room.cam.off'));
      else press(micButton, paused, paused ? t('room.mic.unmute') : t('room.mic.mute'));
    },
  };
}
