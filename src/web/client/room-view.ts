/**
 * The session room screen: controls, participant grid with active-speaker
 * highlight, screen shares beside the code review panel, who is present,
 * recording indicator, defence phase, and clear messages for refused joins.
 */
import { getJson, sendJson, type User } from './api.ts';
import { DefencePanel } from './defence.ts';
import { clear, h, nextId } from './dom.ts';
import { relabel, t, type MessageKey } from './i18n.ts';
import { ReviewPanel } from './review.ts';
import { RoomClient, type PeerInfo, type RemoteMedia, type RoomStatus, type Source } from './room-client.ts';
import { RequestError } from './signal.ts';
import { formatDateTime, formatTime } from './time.ts';
import { codeText, errorText, mediaErrorText } from './ui.ts';

const REFUSALS = ['too_early', 'not_a_participant', 'session_over', 'session_cancelled', 'session_not_found'] as const;

interface Tile {
  figure: HTMLElement;
  video: HTMLVideoElement;
  caption: HTMLElement;
  mic: HTMLElement;
  /** The person's connection quality (excellent, good, poor, lost). */
  quality: HTMLElement;
  audio?: HTMLAudioElement;
}

export interface RoomView {
  element: HTMLElement;
  /** Leaves the room and releases camera, mic and sockets. */
  dispose(): Promise<void>;
  /** The language changed: re-label everything in place, staying in the call. */
  relabel(): void;
}

declare global {
  interface Window {
    /** The current room and review (for diagnostics and the end-to-end test). */
    mlRoom?: RoomClient;
    mlReview?: ReviewPanel;
  }
}

export function refusalMessage(code: string, details: Record<string, unknown>, user: User): string {
  if (code === 'too_early') {
    const opensAt = typeof details.opensAt === 'string' ? details.opensAt : undefined;
    return t('error.too_early', { time: opensAt ? formatDateTime(opensAt, user.timeZone) : '—' });
  }
  if ((REFUSALS as readonly string[]).includes(code)) return t(`error.${code}` as MessageKey);
  return codeText(code);
}

const CLOSE_REASONS: Record<string, MessageKey> = {
  'joined_elsewhere': 'room.reason.joinedElsewhere',
  'session_ended': 'room.reason.ended',
  'session_cancelled': 'room.reason.cancelled',
  'empty_timeout': 'room.reason.empty',
  'departure_timeout': 'room.reason.empty',
};

/** Why the room closed, in words. */
export function closedMessage(reason: string): string {
  const key = CLOSE_REASONS[reason];
  return key ? t(key) : t('room.closed');
}

export function roomView(sessionId: string, user: User, navigate: (hash: string) => void): RoomView {
  const status = h('p', { class: 'status', id: 'room-status', role: 'status', 'aria-live': 'polite' }, t('room.joining'));
  const announcer = h('div', { class: 'visually-hidden', 'aria-live': 'polite', id: 'announcer' });
  const announce = (text: string) => {
    announcer.textContent = text;
  };
  const alert = h('div', { class: 'room-alert', role: 'alert', id: 'room-alert', hidden: true });
  const recording = h('span', { class: 'recording', id: 'recording-indicator', hidden: true }, h('span', { class: 'dot', 'aria-hidden': 'true' }), t('room.recording'));
  const grid = h('div', { class: 'grid', id: 'grid', 'aria-label': t('room.title') });
  const stage = h('div', { class: 'stage', id: 'stage', hidden: true });
  const presenceTitle = h('h2', { id: nextId('presence') });
  const presenceList = h('ul', { id: 'presence-list' });
  const presence = h('aside', { class: 'presence', 'aria-labelledby': presenceTitle.id }, presenceTitle, presenceList);
  const isolated = h('div', { class: 'lobby-overlay', id: 'lobby', role: 'status', hidden: true }, t('room.isolated'));
  // The waiting screen shows while the room isolates us or the defence says we wait (either may arrive first).
  let roomIsolated = false;
  let defenceWaiting = false;
  const renderLobby = () => {
    isolated.hidden = !(roomIsolated || defenceWaiting);
  };

  const fmtTime = (iso: string) => formatTime(iso, user.timeZone);
  const review = new ReviewPanel(sessionId, { formatTime: fmtTime, announce });
  const defence = new DefencePanel(sessionId, {
    formatTime: fmtTime,
    onCandidateView: (view) => {
      defenceWaiting = view === 'lobby' || view === 'waiting';
      isolated.textContent = view === 'waiting' ? t('defence.waiting') : t('defence.lobby');
      renderLobby();
    },
  });
  const workspace = h('div', { class: 'workspace' }, stage, review.element);

  let refused = false;
  const tiles = new Map<string, Tile>();
  const screens = new Map<string, HTMLElement>();
  let peers: PeerInfo[] = [];
  const nameOf = (userId: string) => (userId === user.id ? user.name : (peers.find((p) => p.userId === userId)?.name ?? '…'));

  function tileOf(userId: string): Tile {
    let tile = tiles.get(userId);
    if (tile) return tile;
    const self = userId === user.id;
    const video = h('video', { autoplay: true, playsinline: true, muted: true, 'data-user-id': userId, 'data-source': 'webcam' });
    video.muted = true;
    const mic = h('span', { class: 'mic-off', hidden: true, title: t('room.muted') }, h('span', { 'aria-hidden': 'true' }, '🔇'), h('span', { class: 'visually-hidden' }, t('room.muted')));
    const caption = h('span', { class: 'name' });
    const quality = h('span', { class: 'quality', 'data-quality': 'excellent' });
    const figure = h('figure', { class: `tile${self ? ' self' : ''}`, 'data-user-id': userId }, video, h('figcaption', {}, caption, mic, quality));
    tile = { figure, video, caption, mic, quality };
    tiles.set(userId, tile);
    if (self) grid.prepend(figure);
    else grid.append(figure);
    renderNames();
    return tile;
  }

  function renderNames(): void {
    for (const [userId, tile] of tiles) {
      const name = nameOf(userId);
      tile.caption.textContent = userId === user.id ? t('room.you', { name }) : name;
      tile.figure.setAttribute('aria-label', t('room.cameraOf', { name }));
      const level = userId === user.id ? client.selfQuality : (peers.find((p) => p.userId === userId)?.quality ?? 'excellent');
      tile.quality.dataset.quality = level;
      tile.quality.textContent = t(`room.quality.${level}`);
    }
  }

  function renderPresence(): void {
    const everyone = [{ userId: user.id, name: user.name, role: client.self?.role ?? user.role, connected: true }, ...peers];
    presenceTitle.textContent = t('room.present', { count: everyone.length });
    clear(presenceList);
    for (const p of everyone) {
      const role = t(`role.${p.role}` as MessageKey);
      presenceList.append(
        h(
          'li',
          { 'data-user-id': p.userId },
          p.userId === user.id ? t('room.you', { name: p.name }) : p.name,
          ` — ${role.startsWith('role.') ? p.role : role}`,
          p.connected === false ? ` (${t('room.away')})` : '',
        ),
      );
    }
  }

  function setStatus(text: string): void {
    status.textContent = text;
  }

  function showAlert(text: string | undefined): void {
    alert.textContent = text ?? '';
    alert.hidden = !text;
  }

  function attach(el: HTMLMediaElement, track: MediaStreamTrack): void {
    el.srcObject = new MediaStream([track]);
    void el.play().catch(() => undefined);
  }

  function addScreen(key: string, userId: string, track: MediaStreamTrack, self: boolean): void {
    removeScreen(key);
    const video = h('video', { autoplay: true, playsinline: true, muted: true, 'data-user-id': userId, 'data-source': 'screen' });
    video.muted = true;
    const name = nameOf(userId);
    const figure = h('figure', { class: `screen${self ? ' self' : ''}`, 'data-user-id': userId, 'aria-label': t('room.screenOf', { name }) }, video, h('figcaption', {}, t('room.screenOf', { name })));
    attach(video, track);
    screens.set(key, figure);
    stage.append(figure);
    stage.hidden = false;
    workspace.classList.add('with-stage');
  }

  function removeScreen(key: string): void {
    const figure = screens.get(key);
    if (!figure) return;
    figure.querySelector('video')!.srcObject = null;
    figure.remove();
    screens.delete(key);
    stage.hidden = screens.size === 0;
    workspace.classList.toggle('with-stage', screens.size > 0);
  }

  const client = new RoomClient(sessionId, {
    status(s: RoomStatus, detail) {
      element.dataset.status = s;
      if (s === 'joining') setStatus(t('room.joining'));
      if (s === 'joined') {
        setStatus(t('room.joined'));
        showAlert(undefined);
      }
      if (s === 'reconnecting') setStatus(t('room.reconnecting'));
      if (s === 'closed') {
        const code = detail?.code;
        if (refused) return;
        review.close();
        defence.close();
        if (code === 'left') setStatus(t('room.left'));
        else if (code === 'room_closed') setStatus(closedMessage(detail?.message ?? ''));
        else if (code === 'token_invalid') setStatus(t('error.expired'));
        else if (code) showAlert(refusalMessage(code, detail?.details ?? {}, user));
        controls.hidden = true;
      }
    },
    peers(list) {
      peers = list;
      for (const userId of [...tiles.keys()]) {
        if (userId !== user.id && !list.some((p) => p.userId === userId)) {
          tiles.get(userId)!.figure.remove();
          tiles.delete(userId);
        }
      }
      for (const p of list) {
        const tile = tileOf(p.userId);
        const mic = p.producers.find((x) => x.source === 'mic');
        tile.mic.hidden = !(mic?.paused ?? false);
      }
      renderNames();
      renderPresence();
    },
    remoteAdded(m: RemoteMedia) {
      if (m.source === 'screen') return addScreen(m.consumerId, m.userId, m.track, false);
      const tile = tileOf(m.userId);
      if (m.kind === 'video') {
        attach(tile.video, m.track);
        tile.video.dataset.consumerId = m.consumerId;
      } else {
        tile.audio?.remove();
        tile.audio = h('audio', { autoplay: true, 'data-user-id': m.userId, 'data-source': 'mic' });
        tile.figure.append(tile.audio);
        attach(tile.audio, m.track);
        tile.mic.hidden = !m.paused;
      }
    },
    remoteRemoved(m: RemoteMedia) {
      if (m.source === 'screen') return removeScreen(m.consumerId);
      const tile = tiles.get(m.userId);
      if (!tile) return;
      if (m.kind === 'video' && tile.video.dataset.consumerId === m.consumerId) tile.video.srcObject = null;
      if (m.kind === 'audio') {
        tile.audio?.remove();
        delete tile.audio;
      }
    },
    remotePaused(m: RemoteMedia) {
      const tile = tiles.get(m.userId);
      if (!tile) return;
      if (m.source === 'mic') tile.mic.hidden = !m.paused;
      if (m.source === 'webcam') tile.figure.classList.toggle('camera-off', m.paused);
    },
    localChanged(source: Source, track, paused) {
      if (source === 'screen') {
        if (track) addScreen('self', user.id, track, true);
        else removeScreen('self');
        screenButton.textContent = track ? t('room.screen.stop') : t('room.screen.start');
        screenButton.setAttribute('aria-pressed', track ? 'true' : 'false');
        return;
      }
      const tile = tileOf(user.id);
      if (source === 'webcam') {
        if (track) {
          const shown = (tile.video.srcObject as MediaStream | null)?.getVideoTracks()[0];
          if (shown !== track) attach(tile.video, track);
        }
        tile.figure.classList.toggle('camera-off', paused);
        camButton.textContent = paused ? t('room.cam.on') : t('room.cam.off');
        camButton.setAttribute('aria-pressed', paused ? 'true' : 'false');
      } else {
        tile.mic.hidden = !paused;
        micButton.textContent = paused ? t('room.mic.unmute') : t('room.mic.mute');
        micButton.setAttribute('aria-pressed', paused ? 'true' : 'false');
      }
    },
    activeSpeaker(userId) {
      for (const [id, tile] of tiles) {
        const speaking = id === userId;
        tile.figure.classList.toggle('speaking', speaking);
        if (speaking) tile.figure.setAttribute('data-speaking', 'true');
        else tile.figure.removeAttribute('data-speaking');
      }
    },
    recording({ active, recordingId }) {
      recording.hidden = !active;
      runningRecordingId = active ? recordingId : undefined;
      recordButton.textContent = active ? t('room.record.stop') : t('room.record.start');
      recordButton.setAttribute('aria-pressed', active ? 'true' : 'false');
      announce(active ? t('room.recording') : t('room.notRecording'));
    },
    isolation(userId, isolatedNow) {
      if (userId === user.id) {
        roomIsolated = isolatedNow;
        renderLobby();
      }
      else tiles.get(userId)?.figure.classList.toggle('isolated', isolatedNow);
    },
  });
  window.mlRoom = client;
  window.mlReview = review;

  // Controls.
  const micButton = h('button', { type: 'button', id: 'toggle-mic', 'aria-pressed': 'false', onclick: () => void client.setPaused('mic', !client.isPaused('mic')) }, t('room.mic.mute'));
  const camButton = h('button', { type: 'button', id: 'toggle-cam', 'aria-pressed': 'false', onclick: () => void client.setPaused('webcam', !client.isPaused('webcam')) }, t('room.cam.off'));
  const screenButton = h(
    'button',
    {
      type: 'button',
      id: 'toggle-screen',
      'aria-pressed': 'false',
      onclick: () => {
        const sharing = !!client.localTrack('screen');
        (sharing ? client.stopSource('screen') : client.startScreen()).catch((err: Error) =>
          showAlert(t('room.screenFailed', { message: mediaErrorText(err) })),
        );
      },
    },
    t('room.screen.start'),
  );
  const reviewButton = h(
    'button',
    {
      type: 'button',
      id: 'toggle-review',
      'aria-expanded': 'true',
      'aria-controls': 'review-panel',
      onclick: () => {
        review.element.hidden = !review.element.hidden;
        reviewButton.setAttribute('aria-expanded', review.element.hidden ? 'false' : 'true');
      },
    },
    t('room.review'),
  );
  const camId = nextId('camera');
  const micId = nextId('microphone');
  const camSelect = h('select', { id: camId, onchange: () => void client.startDevice('webcam', camSelect.value).catch((e: unknown) => showAlert(t('room.mediaDenied', { message: mediaErrorText(e) }))) });
  const micSelect = h('select', { id: micId, onchange: () => void client.startDevice('mic', micSelect.value).catch((e: unknown) => showAlert(t('room.mediaDenied', { message: mediaErrorText(e) }))) });
  const devices = h(
    'details',
    { class: 'devices' },
    h('summary', {}, t('room.devices')),
    h('div', { class: 'menu' }, h('label', { for: camId }, t('room.camera')), camSelect, h('label', { for: micId }, t('room.microphone')), micSelect),
  );
  // Recording: the mentor or a jury member starts and stops it; in a mentoring session the student agrees first.
  let runningRecordingId: string | undefined;
  const recordButton = h(
    'button',
    {
      type: 'button',
      id: 'toggle-recording',
      class: 'secondary',
      'aria-pressed': 'false',
      hidden: true,
      onclick: () => {
        const path = runningRecordingId ? `/sessions/${sessionId}/recordings/${runningRecordingId}/stop` : `/sessions/${sessionId}/recordings`;
        sendJson('POST', path).catch((err: unknown) => showAlert(errorText(err)));
      },
    },
    t('room.record.start'),
  );
  const consentBox = h('input', { type: 'checkbox', id: 'recording-consent' });
  consentBox.addEventListener('change', () => {
    sendJson('PUT', `/sessions/${sessionId}/recording-consent`, { granted: consentBox.checked }).catch((err: unknown) => {
      consentBox.checked = !consentBox.checked;
      showAlert(errorText(err));
    });
  });
  const consent = h('span', { class: 'consent', hidden: true }, consentBox, h('label', { for: 'recording-consent' }, t('room.consent')));
  async function setUpRecordingControls(role: string | undefined): Promise<void> {
    if (role === 'mentor' || role === 'jury' || user.role === 'coordinator') recordButton.hidden = false;
    if (role !== 'student') return;
    try {
      const state = await getJson<{ required: boolean; granted: boolean | null }>(`/sessions/${sessionId}/recording-consent`);
      consentBox.checked = state.granted === true;
      consent.hidden = !state.required;
    } catch {
      // No recording capability on this server: no consent to give.
    }
  }

  // A click elsewhere closes the device menu (it floats over the page).
  const closeDevices = (e: MouseEvent) => {
    if (devices.open && !devices.contains(e.target as Node)) devices.open = false;
  };
  document.addEventListener('click', closeDevices);
  devices.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && devices.open) {
      devices.open = false;
      devices.querySelector('summary')?.focus();
    }
  });
  const leaveButton = h('button', { type: 'button', class: 'danger', id: 'leave', onclick: () => void client.leave() }, t('room.leave'));
  const controls = h('div', { class: 'controls', role: 'toolbar', 'aria-label': t('room.title') }, micButton, camButton, screenButton, reviewButton, devices, recordButton, consent, leaveButton);

  async function fillDevices(): Promise<void> {
    const list = await navigator.mediaDevices.enumerateDevices();
    const fill = (select: HTMLSelectElement, kind: MediaDeviceKind, source: Source) => {
      const currentId = client.localTrack(source)?.getSettings().deviceId;
      clear(select);
      list
        .filter((d) => d.kind === kind)
        .forEach((d, i) => select.append(h('option', { value: d.deviceId, selected: d.deviceId === currentId }, d.label || `${kind} ${i + 1}`)));
    };
    fill(camSelect, 'videoinput', 'webcam');
    fill(micSelect, 'audioinput', 'mic');
  }
  navigator.mediaDevices?.addEventListener('devicechange', () => void fillDevices());

  const element = h(
    'div',
    { class: 'room' },
    h('div', { class: 'room-bar' }, h('h1', { class: 'visually-hidden' }, t('room.title')), status, recording, controls),
    alert,
    isolated,
    defence.element,
    h('div', { class: 'room-body' }, h('div', { class: 'room-main' }, workspace, grid), presence),
    h('p', {}, h('a', { href: '#/sessions', onclick: (e: Event) => (e.preventDefault(), void client.leave().then(() => navigate('#/sessions'))) }, t('room.back'))),
    announcer,
  );

  tileOf(user.id);
  renderPresence();

  void (async () => {
    try {
      await client.join();
    } catch (err) {
      const e = err instanceof RequestError ? err : new RequestError('rooms_unavailable', '');
      refused = true;
      setStatus('');
      showAlert(refusalMessage(e.code, e.details, user));
      controls.hidden = true;
      await client.leave();
      if ((REFUSALS as readonly string[]).includes(e.code)) {
        // Refused: nothing of the session is shown. (When only the media server is unreachable, code review stays usable.)
        review.close();
        review.element.hidden = true;
        defence.close();
      }
      return;
    }
    renderPresence();
    void setUpRecordingControls(client.self?.role);
    for (const source of ['webcam', 'mic'] as const) {
      try {
        await client.startDevice(source);
      } catch (err) {
        showAlert(t('room.mediaDenied', { message: mediaErrorText(err) }));
      }
    }
    await fillDevices().catch(() => undefined);
  })();

  return {
    element,
    relabel() {
      relabel(element);
      renderNames();
      renderPresence();
    },
    async dispose() {
      document.removeEventListener('click', closeDevices);
      review.close();
      defence.close();
      await client.leave();
      if (window.mlRoom === client) delete window.mlRoom;
      if (window.mlReview === review) delete window.mlReview;
    },
  };
}
