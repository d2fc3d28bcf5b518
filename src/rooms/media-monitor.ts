/**
 * Watches every peer of a room once a second: the packets their running
 * producers received (is their media alive?) and mediasoup's scores, loss,
 * round trip and jitter (their connection quality). Decisions are in
 * media-health.ts; this only samples and reports changes.
 */
import type { types } from 'mediasoup';
import type { ConnectionQuality } from '../events/index.ts';
import type { Clock } from '../shared/clock.ts';
import { connectionQuality, idleWatch, observeMedia, smoothQuality, type MediaChange, type MediaWatch } from './media-health.ts';
import type { Peer } from './peer.ts';

export interface MediaMonitorOptions {
  peers: () => Iterable<Peer>;
  clock: Clock;
  /** A running producer silent this long means the participant's network is gone (default 2500 ms). */
  lossAfterMs?: number;
  intervalMs?: number;
  onMedia(peer: Peer, change: MediaChange['type'], at: Date): void;
  onQuality(peer: Peer, level: ConnectionQuality, at: Date): void;
  log: { warn(obj: object, msg: string): void };
}

interface Watched {
  media: MediaWatch;
  /** Undefined until the first sample (whose level is then reported). */
  quality: { level: ConnectionQuality; better: number } | undefined;
  /** Uplink packets received and lost at the last sample (for the loss rate). */
  received: number;
  lost: number;
}

export class MediaMonitor {
  readonly #o: MediaMonitorOptions;
  readonly #watched = new WeakMap<Peer, Watched>();
  #timer: NodeJS.Timeout | undefined;
  #busy = false;

  constructor(options: MediaMonitorOptions) {
    this.#o = options;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.tick(), this.#o.intervalMs ?? 1000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The media state the monitor holds for a peer (idle when not watched yet). */
  stateOf(peer: Peer): MediaWatch['state'] {
    return this.#watched.get(peer)?.media.state ?? 'idle';
  }

  qualityOf(peer: Peer): ConnectionQuality {
    return this.#watched.get(peer)?.quality?.level ?? (peer.connected ? 'excellent' : 'lost');
  }

  /** The peer's transports were closed (a rejoin): nothing to watch until new producers run. Reported now. */
  reset(peer: Peer): void {
    const w = this.#watched.get(peer);
    if (!w || w.media.state === 'idle') return;
    w.media = idleWatch(Date.now());
    this.#o.onMedia(peer, 'media_idle', this.#o.clock.now());
  }

  /** One round of samples (the timer calls it every second; skipped while the previous one runs). */
  async tick(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      await Promise.all([...this.#o.peers()].map((peer) => this.#sample(peer)));
    } finally {
      this.#busy = false;
    }
  }

  async #sample(peer: Peer): Promise<void> {
    const running = [...peer.producers.values()].filter((p) => !p.closed && !p.paused);
    const stats = await Promise.all(running.map((p) => p.getStats().catch(() => [] as types.ProducerStat[])));
    if (peer.removed) return;
    const realNow = Date.now();
    const w: Watched = this.#watched.get(peer) ?? { media: idleWatch(realNow), quality: undefined, received: 0, lost: 0 };
    this.#watched.set(peer, w);

    let received = 0;
    let lost = 0;
    let roundTripMs: number | undefined;
    let jitterMs: number | undefined;
    const producers = running.map((producer, i) => {
      const streams = stats[i] ?? [];
      const packets = streams.reduce((sum, s) => sum + s.packetCount, 0);
      received += packets;
      lost += streams.reduce((sum, s) => sum + Math.max(0, s.packetsLost), 0);
      const clockRate = producer.rtpParameters.codecs[0]?.clockRate ?? 90000;
      for (const s of streams) {
        if (s.roundTripTime) roundTripMs = Math.max(roundTripMs ?? 0, s.roundTripTime);
        if (s.jitter) jitterMs = Math.max(jitterMs ?? 0, (s.jitter * 1000) / clockRate);
      }
      return { id: producer.id, packets };
    });
    const { watch, change } = observeMedia(w.media, { at: realNow, producers }, this.#o.lossAfterMs ?? 2500);
    w.media = watch;
    // Real time → the server clock (tests may stand elsewhere in time).
    const toClock = (real: number) => new Date(this.#o.clock.now().getTime() - (Date.now() - real));
    if (change) this.#o.onMedia(peer, change.type, toClock(change.at));

    const dReceived = received - w.received;
    const dLost = lost - w.lost;
    w.received = received;
    w.lost = lost;
    const scores = [
      ...running.map((p) => Math.max(0, ...p.score.map((s) => s.score))),
      ...[...peer.consumers.values()].filter((c) => !c.closed && !c.paused && !c.producerPaused).map((c) => c.score.score),
    ];
    const measured = connectionQuality({
      connected: watch.state === 'flowing' || (watch.state === 'idle' && peer.connected),
      mediaLost: watch.state === 'lost',
      scores,
      lossRate: dReceived + dLost > 0 && dLost > 0 ? dLost / (dReceived + dLost) : 0,
      roundTripMs,
      jitterMs,
    });
    const next = w.quality ? smoothQuality(w.quality, measured) : { level: measured, better: 0 };
    const changed = next.level !== w.quality?.level;
    w.quality = next;
    if (changed) this.#o.onQuality(peer, next.level, change?.type === 'media_lost' ? toClock(change.at) : this.#o.clock.now());
  }
}
