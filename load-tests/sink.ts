/**
 * UDP sink for the media benchmark, in its own process (started by the
 * driver with an IPC channel): receives the consumers' RTP (SRTP: the header
 * is clear), counts packets and sequence gaps per SSRC over a window.
 */
import { createSocket, type Socket } from 'node:dgram';

interface Track {
  first: number;
  last: number;
  received: number;
  cycles: number;
}
const sockets: Socket[] = [];
let tracks = new Map<number, Track>();
let bytes = 0;

function onPacket(msg: Buffer): void {
  if (msg.length < 12 || msg[0]! >> 6 !== 2) return;
  const pt = msg[1]!;
  if (pt >= 192 && pt <= 223) return; // RTCP (rtcp-mux)
  const seq = msg.readUInt16BE(2);
  const ssrc = msg.readUInt32BE(8);
  bytes += msg.length;
  if (ssrc === 1234) return; // mediasoup's bandwidth probation padding (one SSRC for every transport)
  const t = tracks.get(ssrc);
  if (!t) {
    tracks.set(ssrc, { first: seq, last: seq, received: 1, cycles: 0 });
    return;
  }
  t.received++;
  const delta = (seq - (t.last & 0xffff) + 0x10000) & 0xffff;
  if (delta > 0 && delta < 0x8000) {
    if (seq < (t.last & 0xffff)) t.cycles++;
    t.last = t.cycles * 0x10000 + seq;
  }
}

const handlers: Record<string, (args: any) => unknown> = {
  async open(args: { count: number }) {
    for (let i = 0; i < args.count; i++) {
      const s = createSocket('udp4');
      s.on('message', onPacket);
      await new Promise<void>((done) => s.bind(0, '127.0.0.1', done));
      s.setRecvBufferSize(8 * 1024 * 1024);
      sockets.push(s);
    }
    return sockets.map((s) => s.address().port);
  },
  reset() {
    tracks = new Map();
    bytes = 0;
    return {};
  },
  report() {
    let received = 0;
    let expected = 0;
    for (const t of tracks.values()) {
      received += t.received;
      expected += t.last - t.first + 1;
    }
    const worst = [...tracks.entries()]
      .map(([ssrc, t]) => ({ ssrc, received: t.received, expected: t.last - t.first + 1 }))
      .sort((a, b) => b.expected - b.received - (a.expected - a.received))
      .slice(0, 5);
    return { ssrcs: tracks.size, received, expected, lost: Math.max(0, expected - received), bytes, worst };
  },
  close() {
    for (const s of sockets) s.close();
    setImmediate(() => process.exit(0));
    return {};
  },
};

process.on('message', (msg: { id: number; cmd: string; args?: unknown }) => {
  const handler = handlers[msg.cmd];
  if (!handler) return process.send?.({ id: msg.id, ok: false, error: `unknown command ${msg.cmd}` });
  Promise.resolve()
    .then(() => handler(msg.args))
    .then(
      (result) => process.send?.({ id: msg.id, ok: true, result }),
      (err: Error) => process.send?.({ id: msg.id, ok: false, error: String(err.stack ?? err) }),
    );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ id: 0, ok: true, result: { url: '' } });
