/**
 * Recording in the room: the indicator everyone sees while it runs, the
 * start/stop button for whoever may record (the mentor, a jury member, a
 * coordinator), and for a student the consent line (room-consent.ts).
 */
import { sendJson, type User } from './api.ts';
import { h } from './dom.ts';
import { t } from './i18n.ts';
import { consentLine } from './room-consent.ts';
import { errorText } from './ui.ts';

export interface RecordingControls {
  /** The red "recording" indicator (`#recording-indicator`), for the room bar. */
  indicator: HTMLElement;
  /** The start/stop button (`#toggle-recording`), hidden until `setUp` shows it. */
  button: HTMLButtonElement;
  /** The student's consent line, hidden until `setUp` finds consent required. */
  consent: HTMLElement;
  /** Shows the room's recording state (from the server's `recordingState`) and reads it out. */
  show(state: { active: boolean; recordingId: string | undefined }): void;
  /** Shows the controls this person's role in the room may use. */
  setUp(role: string | undefined): Promise<void>;
}

export function recordingControls(
  sessionId: string,
  user: User,
  { onError, announce }: { onError: (text: string) => void; announce: (text: string) => void },
): RecordingControls {
  const indicator = h('span', { class: 'recording', id: 'recording-indicator', hidden: true }, h('span', { class: 'dot', 'aria-hidden': 'true' }), t('room.recording'));
  let runningRecordingId: string | undefined;
  const button = h(
    'button',
    {
      type: 'button',
      id: 'toggle-recording',
      class: 'secondary',
      'aria-pressed': 'false',
      hidden: true,
      onclick: () => {
        const path = runningRecordingId ? `/sessions/${sessionId}/recordings/${runningRecordingId}/stop` : `/sessions/${sessionId}/recordings`;
        sendJson('POST', path).catch((err: unknown) => onError(errorText(err)));
      },
    },
    t('room.record.start'),
  );
  const consent = consentLine(sessionId, onError);

  return {
    indicator,
    button,
    consent: consent.element,
    show({ active, recordingId }) {
      indicator.hidden = !active;
      runningRecordingId = active ? recordingId : undefined;
      button.textContent = active ? t('room.record.stop') : t('room.record.start');
      button.setAttribute('aria-pressed', active ? 'true' : 'false');
      announce(active ? t('room.recording') : t('room.notRecording'));
    },
    async setUp(role) {
      if (role === 'mentor' || role === 'jury' || user.role === 'coordinator') button.hidden = false;
      if (role === 'student') await consent.load();
    },
  };
}
