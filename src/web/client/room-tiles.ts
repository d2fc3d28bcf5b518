/**
 * The participant grid of the room: one tile per person (our own first), with
 * camera video, name, a muted-mic badge, a connection-quality badge, the
 * active-speaker highlight and a dimmed look while the person is isolated.
 * Remote audio plays from an element inside the person's tile.
 */
import { h, playTrack } from './dom.ts';
import { t } from './i18n.ts';
import type { PeerInfo, RemoteMedia } from './room-client.ts';

/** Who is who in the room: the grid and the screen stage ask it for names and quality. */
export interface Roster {
  nameOf(userId: string): string;
  qualityOf(userId: string): PeerInfo['quality'];
}

export interface ParticipantTiles {
  /** The grid (`#grid`). */
  element: HTMLElement;
  /** A tile for each peer now in the room, the departed ones removed (ours stays), mic badges as the peers say. */
  showPeers(peers: readonly PeerInfo[]): void;
  /** Makes sure a person has a tile (ours is made before the room answers). */
  ensure(userId: string): void;
  /** Names, labels and quality badges again (the roster or the language changed). */
  relabel(): void;
  remoteAdded(media: RemoteMedia): void;
  remoteRemoved(media: RemoteMedia): void;
  remotePaused(media: RemoteMedia): void;
  /** Our own camera or microphone changed (a new track, paused or resumed). */
  localChanged(source: 'webcam' | 'mic', track: MediaStreamTrack | undefined, paused: boolean): void;
  activeSpeaker(userId: string | null): void;
  isolation(userId: string, isolated: boolean): void;
}

interface Tile {
  figure: HTMLElement;
  video: HTMLVideoElement;
  caption: HTMLElement;
  mic: HTMLElement;
  /** The person's connection quality (excellent, good, poor, lost). */
  quality: HTMLElement;
  audio?: HTMLAudioElement;
}

/** A person's tile: camera video (muted: their sound plays from a separate audio element), name, mic and quality badges. */
function newTile(userId: string, self: boolean): Tile {
  const video = h('video', { autoplay: true, playsinline: true, muted: true, 'data-user-id': userId, 'data-source': 'webcam' });
  video.muted = true;
  const mic = h('span', { class: 'mic-off', hidden: true, title: t('room.muted') }, h('span', { 'aria-hidden': 'true' }, '🔇'), h('span', { class: 'visually-hidden' }, t('room.muted')));
  const caption = h('span', { class: 'name' });
  const quality = h('span', { class: 'quality', 'data-quality': 'excellent' });
  const figure = h('figure', { class: `tile${self ? ' self' : ''}`, 'data-user-id': userId }, video, h('figcaption', {}, caption, mic, quality));
  return { figure, video, caption, mic, quality };
}

/** A person's camera or microphone arrived: the video plays in the tile, the sound from an audio element in it. */
function playRemote(tile: Tile, m: RemoteMedia): void {
  if (m.kind === 'video') {
    playTrack(tile.video, m.track);
    tile.video.dataset.consumerId = m.consumerId;
    return;
  }
  tile.audio?.remove();
  tile.audio = h('audio', { autoplay: true, 'data-user-id': m.userId, 'data-source': 'mic' });
  tile.figure.append(tile.audio);
  playTrack(tile.audio, m.track);
  tile.mic.hidden = !m.paused;
}

/** A person's camera or microphone went away (a newer camera consumer already in the tile stays). */
function stopRemote(tile: Tile, m: RemoteMedia): void {
  if (m.kind === 'video' && tile.video.dataset.consumerId === m.consumerId) tile.video.srcObject = null;
  if (m.kind === 'audio') {
    tile.audio?.remove();
    delete tile.audio;
  }
}

export function participantTiles(selfId: string, roster: Roster): ParticipantTiles {
  const grid = h('div', { class: 'grid', id: 'grid', 'aria-label': t('room.title') });
  const tiles = new Map<string, Tile>();

  function relabel(): void {
    for (const [userId, tile] of tiles) {
      const name = roster.nameOf(userId);
      tile.caption.textContent = userId === selfId ? t('room.you', { name }) : name;
      tile.figure.setAttribute('aria-label', t('room.cameraOf', { name }));
      const level = roster.qualityOf(userId);
      tile.quality.dataset.quality = level;
      tile.quality.textContent = t(`room.quality.${level}`);
    }
  }

  function tileOf(userId: string): Tile {
    let tile = tiles.get(userId);
    if (tile) return tile;
    tile = newTile(userId, userId === selfId);
    tiles.set(userId, tile);
    if (userId === selfId) grid.prepend(tile.figure);
    else grid.append(tile.figure);
    relabel();
    return tile;
  }

  return {
    element: grid,
    relabel,
    ensure(userId) {
      tileOf(userId);
    },
    showPeers(peers) {
      for (const userId of [...tiles.keys()]) {
        if (userId !== selfId && !peers.some((p) => p.userId === userId)) {
          tiles.get(userId)!.figure.remove();
          tiles.delete(userId);
        }
      }
      for (const p of peers) {
        const mic = p.producers.find((x) => x.source === 'mic');
        tileOf(p.userId).mic.hidden = !(mic?.paused ?? false);
      }
      relabel();
    },
    remoteAdded: (m) => playRemote(tileOf(m.userId), m),
    remoteRemoved(m) {
      const tile = tiles.get(m.userId);
      if (tile) stopRemote(tile, m);
    },
    remotePaused(m) {
      const tile = tiles.get(m.userId);
      if (!tile) return;
      if (m.source === 'mic') tile.mic.hidden = !m.paused;
      if (m.source === 'webcam') tile.figure.classList.toggle('camera-off', m.paused);
    },
    localChanged(source, track, paused) {
      const tile = tileOf(selfId);
      if (source === 'mic') {
        tile.mic.hidden = !paused;
        return;
      }
      if (track) {
        const shown = (tile.video.srcObject as MediaStream | null)?.getVideoTracks()[0];
        if (shown !== track) playTrack(tile.video, track);
      }
      tile.figure.classList.toggle('camera-off', paused);
    },
    activeSpeaker(userId) {
      for (const [id, tile] of tiles) {
        const speaking = id === userId;
        tile.figure.classList.toggle('speaking', speaking);
        if (speaking) tile.figure.setAttribute('data-speaking', 'true');
        else tile.figure.removeAttribute('data-speaking');
      }
    },
    isolation(userId, isolated) {
      tiles.get(userId)?.figure.classList.toggle('isolated', isolated);
    },
  };
}
