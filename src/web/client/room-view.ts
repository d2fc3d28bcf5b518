/**
 * The session room screen, composed of its parts: the status line and alert
 * (room-status.ts), the controls bar (room-controls.ts) with the device menu
 * (room-devices.ts) and recording controls (room-recording.ts), the waiting
 * overlay (room-lobby.ts), the defence panel, the screen-share stage
 * (room-stage.ts) beside the code review panel, the participant grid
 * (room-tiles.ts) and who is present (room-presence.ts). This module wires the
 * room's events to those parts, and says why a join was refused or the room closed.
 */
import type { User } from './api.ts';
import { DefencePanel } from './defence.ts';
import { h } from './dom.ts';
import { relabel, t, type MessageKey } from './i18n.ts';
import { ReviewPanel } from './review.ts';
import { RoomClient, type PeerInfo, type RoomListener } from './room-client.ts';
import { controlsBar, type ControlsBar } from './room-controls.ts';
import { deviceMenu, type DeviceMenu } from './room-devices.ts';
import { lobbyOverlay, type LobbyOverlay } from './room-lobby.ts';
import { presencePanel, type PresencePanel } from './room-presence.ts';
import { recordingControls, type RecordingControls } from './room-recording.ts';
import { screenStage, type ScreenStage } from './room-stage.ts';
import { roomStatusLine, type RoomStatusLine } from './room-status.ts';
import { participantTiles, type ParticipantTiles } from './room-tiles.ts';
import { RequestError } from './signal.ts';
import { formatDateTime, formatTime } from './time.ts';
import { codeText, mediaErrorText } from './ui.ts';

const REFUSALS = ['too_early', 'not_a_participant', 'session_over', 'session_cancelled', 'session_not_found'] as const;

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

/** The parts of one room screen, as the room's events and the join reach them. */
interface Parts {
  line: RoomStatusLine;
  lobby: LobbyOverlay;
  tiles: ParticipantTiles;
  stage: ScreenStage;
  presence: PresencePanel;
  controls: ControlsBar;
  devices: DeviceMenu;
  recording: RecordingControls;
  review: ReviewPanel;
  defence: DefencePanel;
}

/** What the room says when it closed: a status for an ordinary end, an alert for a refusal, nothing without a code. */
function closedNotice(detail: { code?: string; message?: string; details?: Record<string, unknown> } | undefined, user: User): { status?: string; alert?: string } {
  const code = detail?.code;
  if (code === 'left') return { status: t('room.left') };
  if (code === 'room_closed') return { status: closedMessage(detail?.message ?? '') };
  if (code === 'token_invalid') return { status: t('error.expired') };
  if (code) return { alert: refusalMessage(code, detail?.details ?? {}, user) };
  return {};
}

/**
 * The room's events, each handed to the part that shows it. `screen` events go
 * to the stage, camera and mic to the tiles; our own media also to the controls.
 * `parts` is read at each event: the client is made before the parts that
 * drive it, and it reports nothing until it is asked to join.
 */
function roomListener(user: User, parts: () => Parts, view: { element(): HTMLElement; refused(): boolean; peersChanged(peers: PeerInfo[]): void }): RoomListener {
  return {
    status(s, detail) {
      const { line, controls, review, defence } = parts();
      view.element().dataset.status = s;
      if (s === 'joining') line.set(t('room.joining'));
      if (s === 'joined') {
        line.set(t('room.joined'));
        line.showAlert(undefined);
      }
      if (s === 'reconnecting') line.set(t('room.reconnecting'));
      if (s !== 'closed' || view.refused()) return;
      review.close();
      defence.close();
      const notice = closedNotice(detail, user);
      if (notice.status !== undefined) line.set(notice.status);
      if (notice.alert !== undefined) line.showAlert(notice.alert);
      controls.element.hidden = true;
    },
    peers: (list) => view.peersChanged(list),
    remoteAdded: (m) => (m.source === 'screen' ? parts().stage.add(m.consumerId, m.userId, m.track, false) : parts().tiles.remoteAdded(m)),
    remoteRemoved: (m) => (m.source === 'screen' ? parts().stage.remove(m.consumerId) : parts().tiles.remoteRemoved(m)),
    remotePaused: (m) => parts().tiles.remotePaused(m),
    localChanged(source, track, paused) {
      const { controls, tiles, stage } = parts();
      controls.localChanged(source, track, paused);
      if (source !== 'screen') tiles.localChanged(source, track, paused);
      else if (track) stage.add('self', user.id, track, true);
      else stage.remove('self');
    },
    activeSpeaker: (userId) => parts().tiles.activeSpeaker(userId),
    recording: (state) => parts().recording.show(state),
    isolation(userId, isolated) {
      if (userId === user.id) parts().lobby.setIsolated(isolated);
      else parts().tiles.isolation(userId, isolated);
    },
  };
}

/**
 * Joins, then shows the recording controls the role allows and turns on camera
 * and mic. A refused join hides the controls and says why; a refusal of the
 * person (not of the media server) hides the whole session.
 */
async function joinRoom(client: RoomClient, user: User, room: Parts, markRefused: () => void, renderPresence: () => void): Promise<void> {
  const { line, controls, review, defence } = room;
  try {
    await client.join();
  } catch (err) {
    const e = err instanceof RequestError ? err : new RequestError('rooms_unavailable', '');
    markRefused();
    line.set('');
    line.showAlert(refusalMessage(e.code, e.details, user));
    controls.element.hidden = true;
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
  void room.recording.setUp(client.self?.role);
  for (const source of ['webcam', 'mic'] as const) {
    try {
      await client.startDevice(source);
    } catch (err) {
      line.showAlert(t('room.mediaDenied', { message: mediaErrorText(err) }));
    }
  }
  await room.devices.fill().catch(() => undefined);
}

export function roomView(sessionId: string, user: User, navigate: (hash: string) => void): RoomView {
  let refused = false;
  let peers: PeerInfo[] = [];
  const client = new RoomClient(
    sessionId,
    roomListener(user, () => room, {
      element: () => element,
      refused: () => refused,
      peersChanged(list) {
        peers = list;
        room.tiles.showPeers(list);
        renderPresence();
      },
    }),
  );
  const nameOf = (userId: string) => (userId === user.id ? user.name : (peers.find((p) => p.userId === userId)?.name ?? '…'));
  const qualityOf = (userId: string) => (userId === user.id ? client.selfQuality : (peers.find((p) => p.userId === userId)?.quality ?? 'excellent'));
  const renderPresence = () => room.presence.render([{ userId: user.id, name: user.name, role: client.self?.role ?? user.role, connected: true }, ...peers]);

  const line = roomStatusLine();
  const lobby = lobbyOverlay();
  const fmtTime = (iso: string) => formatTime(iso, user.timeZone);
  const review = new ReviewPanel(sessionId, { formatTime: fmtTime, announce: line.announce });
  const defence = new DefencePanel(sessionId, { formatTime: fmtTime, onCandidateView: lobby.setCandidateView });
  const workspace = h('div', { class: 'workspace' });
  const stage = screenStage(nameOf, (shown) => workspace.classList.toggle('with-stage', shown));
  workspace.append(stage.element, review.element);
  const devices = deviceMenu(client, line.showAlert);
  const recording = recordingControls(sessionId, user, { onError: line.showAlert, announce: line.announce });
  const controls = controlsBar(client, { reviewPanel: review.element, extra: [devices.element, recording.button, recording.consent], onError: line.showAlert });
  const tiles = participantTiles(user.id, { nameOf, qualityOf });
  const presence = presencePanel(user.id);
  const room: Parts = { line, lobby, tiles, stage, presence, controls, devices, recording, review, defence };
  window.mlRoom = client;
  window.mlReview = review;

  const back = (e: Event) => (e.preventDefault(), void client.leave().then(() => navigate('#/sessions')));
  const element = h(
    'div',
    { class: 'room' },
    h('div', { class: 'room-bar' }, h('h1', { class: 'visually-hidden' }, t('room.title')), line.status, recording.indicator, controls.element),
    line.alert,
    lobby.element,
    defence.element,
    h('div', { class: 'room-body' }, h('div', { class: 'room-main' }, workspace, tiles.element), presence.element),
    h('p', {}, h('a', { href: '#/sessions', onclick: back }, t('room.back'))),
    line.announcer,
  );
  tiles.ensure(user.id);
  renderPresence();
  void joinRoom(client, user, room, () => (refused = true), renderPresence);

  return {
    element,
    relabel() {
      relabel(element);
      tiles.relabel();
      renderPresence();
    },
    async dispose() {
      devices.dispose();
      review.close();
      defence.close();
      await client.leave();
      if (window.mlRoom === client) delete window.mlRoom;
      if (window.mlReview === review) delete window.mlReview;
    },
  };
}
