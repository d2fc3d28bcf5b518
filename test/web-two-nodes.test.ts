import t from 'tap';
import type { Page } from 'playwright-core';
import { buildWebClient, launchBrowser, loginThroughForm, newPage, screenshot } from './helpers/browser.ts';
import { enterableSession, startCluster } from './helpers/cluster.ts';

/**
 * The browser end to end through two nodes of one deployment: the student's
 * page is served by node A, the mentor's by node B. The room lives on one of
 * them; the other page's client is told where (`room_elsewhere`) and moves
 * there with no visible step. Both see each other's camera, and the room's
 * peers are all on its owner (read from each node's /metrics).
 */
buildWebClient();

async function webcamPlaying(page: Page, userId: string): Promise<number> {
  const sel = `video[data-user-id="${userId}"][data-source="webcam"]`;
  await page.waitForFunction((s) => (document.querySelector<HTMLVideoElement>(s)?.videoWidth ?? 0) > 0, sel);
  const frames = await page.evaluate((s) => document.querySelector<HTMLVideoElement>(s)!.getVideoPlaybackQuality().totalVideoFrames, sel);
  await page.waitForFunction(({ s, f }) => (document.querySelector<HTMLVideoElement>(s)?.getVideoPlaybackQuality().totalVideoFrames ?? 0) > f + 10, { s: sel, f: frames });
  return page.evaluate((s) => document.querySelector<HTMLVideoElement>(s)!.getVideoPlaybackQuality().totalVideoFrames, sel);
}

async function gauge(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  if (!line) throw new Error(`${name} not in ${url}/metrics`);
  return Number(line.trim().split(/\s+/).pop());
}

t.test('browser: two pages served by two nodes meet in one room on its owner, video both ways', async (t) => {
  const cluster = await startCluster(t, ['node-a', 'node-b']);
  const [a, b] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
  const { demo, db } = cluster;
  const sessionId = await enterableSession(db, demo);
  const browser = await launchBrowser(t);
  const student = await newPage(browser, a.url, { locale: 'en-GB' });
  const mentor = await newPage(browser, b.url, { locale: 'en-GB' });

  // Each page's own server names every node of the deployment in its CSP, so the move is allowed.
  // (Each node reads the registry at each of its publications, every 2 s: B appears in A's within that.)
  const wsOfB = `ws://${new URL(b.url).host}`;
  const connectSrc = async () => (await fetch(`${a.url}/`)).headers.get('content-security-policy')?.match(/connect-src[^;]*/)?.[0] ?? '';
  let csp = await connectSrc();
  for (let end = Date.now() + 10_000; !csp.split(' ').includes(wsOfB) && Date.now() < end; csp = await connectSrc()) await new Promise((r) => setTimeout(r, 250));
  t.ok(csp.startsWith("connect-src 'self' ") && csp.split(' ').includes(wsOfB), `node A's pages may connect to node B (${csp})`);

  await loginThroughForm(student.page, demo.student, `/#/sessions/${sessionId}`);
  await student.page.locator('.room[data-status="joined"]').waitFor();
  await loginThroughForm(mentor.page, demo.mentor, `/#/sessions/${sessionId}`);
  await mentor.page.locator('.room[data-status="joined"]').waitFor();

  const studentFrames = await webcamPlaying(mentor.page, demo.student.id);
  const mentorFrames = await webcamPlaying(student.page, demo.mentor.id);
  t.ok(studentFrames > 10, `the mentor (page from node B) sees the student's camera (${studentFrames} frames)`);
  t.ok(mentorFrames > 10, `the student (page from node A) sees the mentor's camera (${mentorFrames} frames)`);

  const rooms = [await gauge(a.url, 'mentorlive_rooms'), await gauge(b.url, 'mentorlive_rooms')];
  const peers = [await gauge(a.url, 'mentorlive_peers'), await gauge(b.url, 'mentorlive_peers')];
  t.same(rooms.slice().sort(), [0, 1], `one node holds the room (rooms per node: ${rooms.join(', ')})`);
  const owner = rooms[0] === 1 ? 0 : 1;
  t.equal(peers[owner], 2, `both people are on the owner, node ${owner === 0 ? 'A' : 'B'} (peers per node: ${peers.join(', ')})`);
  t.equal(peers[1 - owner], 0, 'none stayed on the node that served their page');
  t.same([...student.errors, ...mentor.errors], [], 'no page error (a CSP refusal would be one)');
  await screenshot(mentor.page, 'two-nodes-mentor');
});
