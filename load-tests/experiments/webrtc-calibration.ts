/**
 * How far the media part's PlainTransport subscribers stand for WebRTC ones:
 * worker CPU per consumer for the same producers, the same number of
 * subscribers, in the same room of our server, alternating:
 *   plain   PlainTransport + SRTP, 2 consumers on one transport, to a UDP sink (the media part's subscriber)
 *   webrtc  real WebRTC peers (werift: ICE + DTLS + SRTP, RTCP receiver reports and NACK/PLI),
 *           observers joining through the /rooms signalling, each consuming the video and the audio
 *           (support/werift-peer.ts: one WebRtcTransport per consumer)
 * The producers are a werift peer's VP8 (one 300-byte packet every 33 ms) and Opus (every 20 ms); the
 * worker with the producers alone is measured in each round and subtracted (scaled to what the source
 * sent: its timers slow down on a loaded machine), and the figure is worker CPU per packet sent out.
 *   node load-tests/experiments/webrtc-calibration.ts [subscribers=20] [rounds=2] [windowS=8]
 */
import { SINK_SCRIPT, startServer } from '../lib/child.ts';
import { pool, sleep } from '../lib/stats.ts';
import { WeriftPeer } from '../../support/werift-peer.ts';

const n = Number(process.argv[2] ?? 20);
const rounds = Number(process.argv[3] ?? 2);
const windowS = Number(process.argv[4] ?? 8);

const server = await startServer({ env: { RECORD_DEFENCES_AUTOMATICALLY: 'false' } });
const sink = await startServer({ script: SINK_SCRIPT });
const results: Array<{ round: number; kind: string; consumers: number; workerCpuPercent: number; idleCpuPercent: number; usPerPacket: number; packetsPerSecondOut: number; sourcePacketsPerSecond: number }> = [];
/** Worker CPU over a window, and packets/s delivered to the subscribers (`received` counts them). */
const measure = async (received: () => Promise<number> | number, sent: () => number) => {
  const [r0, s0] = [await received(), sent()];
  await server.mark();
  await sleep(windowS * 1000);
  const stats = await server.stats();
  const [r1, s1] = [await received(), sent()];
  const seconds = stats.elapsedMs / 1000;
  return { cpu: stats.workers.reduce((m, w) => Math.max(m, w.cpuPercent), 0), out: (r1 - r0) / seconds, source: (s1 - s0) / seconds };
};
try {
  const sinkPorts = await sink.call<number[]>('open', { count: 4 });
  const [room] = await server.call<Array<{ sessionId: string; members: Array<{ token: string }> }>>('rooms', { sizes: [2] });
  const observers = await server.call<Array<{ token: string }>>('users', { count: n, role: 'coordinator' });
  const source = await WeriftPeer.connect(server.url, room!.members[0]!.token);
  await source.join(room!.sessionId);
  const video = await source.produce('video', 'webcam');
  const audio = await source.produce('audio', 'mic');
  const { version } = await server.call<{ version: string }>('media:room', { sessionId: room!.sessionId });
  console.log(`mediasoup ${version}: ${n} subscribers per kind, ${windowS} s windows`);
  const sent = () => video.packetsSent + audio.packetsSent;
  try {
    for (let round = 0; round < rounds; round++) {
      const idleRun = await measure(() => 0, sent);
      // The producers' own cost (receiving, decrypting) scales with what the source sent in each window.
      const idleCpuPerSourcePacket = idleRun.cpu / Math.max(1, idleRun.source);
      for (const kind of round % 2 === 0 ? ['plain', 'webrtc'] : ['webrtc', 'plain']) {
        let m: { cpu: number; out: number; source: number };
        if (kind === 'plain') {
          await server.call('media:add', { n, sinkPorts });
          await sleep(1500);
          m = await measure(async () => (await sink.call<{ received: number }>('report')).received, sent);
          await server.call('media:clear');
        } else {
          const peers = await pool(observers, 5, async ({ token }) => {
            const peer = await WeriftPeer.connect(server.url, token);
            await peer.join(room!.sessionId);
            const tracks = [await peer.consume(video.producerId), await peer.consume(audio.producerId)];
            await Promise.all(tracks.map((t) => peer.waitForPackets(t.consumerId, 5, { timeoutMs: 20_000 })));
            return peer;
          });
          await sleep(1500);
          const inbound = () => peers.reduce((sum, p) => sum + p.inbound().reduce((s, t) => s + t.packets, 0), 0);
          m = await measure(inbound, sent);
          await Promise.all(peers.map((p) => p.close()));
        }
        // The werift source's timers slow down on a loaded machine: compare worker CPU per packet sent out.
        const idle = idleCpuPerSourcePacket * m.source;
        const usPerPacket = (((m.cpu - idle) / 100) * 1e6) / Math.max(1, m.out);
        results.push({ round, kind, consumers: 2 * n, workerCpuPercent: m.cpu, idleCpuPercent: idle, usPerPacket, packetsPerSecondOut: m.out, sourcePacketsPerSecond: m.source });
        console.log(
          `round ${round + 1}: ${kind}: ${2 * n} consumers, worker ${m.cpu.toFixed(2)} % CPU (producers alone ${idle.toFixed(2)} %), ${Math.round(m.out)} pkt/s out (source ${Math.round(m.source)} pkt/s): ${usPerPacket.toFixed(1)} µs of worker CPU per packet out`,
        );
        await sleep(1000);
      }
    }
  } finally {
    await source.close();
  }
} finally {
  await sink.close();
  await server.close();
}
const mean = (kind: string) => results.filter((r) => r.kind === kind).reduce((s, r) => s + r.usPerPacket, 0) / rounds;
console.log(JSON.stringify(results, null, 2));
console.log(`\nworker CPU per packet out (per consumer at a given rate), WebRTC ÷ PlainTransport+SRTP: ${(mean('webrtc') / mean('plain')).toFixed(2)}× (${mean('webrtc').toFixed(1)} vs ${mean('plain').toFixed(1)} µs)`);
