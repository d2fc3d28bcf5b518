/**
 * The device menu of the room: which camera and which microphone to use. It
 * floats over the page, so a click elsewhere or Escape closes it; the lists
 * follow devices plugged in or out.
 */
import { clear, h, nextId } from './dom.ts';
import { t } from './i18n.ts';
import type { RoomClient, Source } from './room-client.ts';
import { mediaErrorText } from './ui.ts';

/** What the menu needs of the room: switch a device, and know which one is in use. */
export type DeviceSwitch = Pick<RoomClient, 'startDevice' | 'localTrack'>;

export interface DeviceMenu {
  element: HTMLDetailsElement;
  /** Lists the devices the browser has now, the ones in use selected (labels appear once media is allowed). */
  fill(): Promise<void>;
  /** Stops listening to the page and to device changes. */
  dispose(): void;
}

export function deviceMenu(media: DeviceSwitch, onError: (text: string) => void): DeviceMenu {
  const use = (source: 'webcam' | 'mic', deviceId: string) =>
    void media.startDevice(source, deviceId).catch((e: unknown) => onError(t('room.mediaDenied', { message: mediaErrorText(e) })));
  const camId = nextId('camera');
  const micId = nextId('microphone');
  const camSelect = h('select', { id: camId, onchange: () => use('webcam', camSelect.value) });
  const micSelect = h('select', { id: micId, onchange: () => use('mic', micSelect.value) });
  const element = h(
    'details',
    { class: 'devices' },
    h('summary', {}, t('room.devices')),
    h('div', { class: 'menu' }, h('label', { for: camId }, t('room.camera')), camSelect, h('label', { for: micId }, t('room.microphone')), micSelect),
  );

  async function fill(): Promise<void> {
    const list = await navigator.mediaDevices.enumerateDevices();
    const fillOne = (select: HTMLSelectElement, kind: MediaDeviceKind, source: Source) => {
      const currentId = media.localTrack(source)?.getSettings().deviceId;
      clear(select);
      list
        .filter((d) => d.kind === kind)
        .forEach((d, i) => select.append(h('option', { value: d.deviceId, selected: d.deviceId === currentId }, d.label || `${kind} ${i + 1}`)));
    };
    fillOne(camSelect, 'videoinput', 'webcam');
    fillOne(micSelect, 'audioinput', 'mic');
  }

  const closeOnClickElsewhere = (e: MouseEvent) => {
    if (element.open && !element.contains(e.target as Node)) element.open = false;
  };
  document.addEventListener('click', closeOnClickElsewhere);
  element.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && element.open) {
      element.open = false;
      element.querySelector('summary')?.focus();
    }
  });
  const refill = () => void fill();
  navigator.mediaDevices?.addEventListener('devicechange', refill);

  return {
    element,
    fill,
    dispose() {
      document.removeEventListener('click', closeOnClickElsewhere);
      navigator.mediaDevices?.removeEventListener('devicechange', refill);
    },
  };
}
