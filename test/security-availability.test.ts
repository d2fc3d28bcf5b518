import t from 'tap';
import { api, startTestApp } from './helpers/app.ts';

t.test('availability is read by its host, the host\'s students and coordinators only', async (t) => {
  const { url, demo, login } = await startTestApp(t);
  const [student, mentor, jury0, jury1, coordinator] = await Promise.all([login(demo.student), login(demo.mentor), login(demo.jury[0]), login(demo.jury[1]), login(demo.coordinator)]);
  const read = (token: string, hostId: string) => api(url, 'GET', `/hosts/${hostId}/availability`, token);
  t.equal((await read(mentor, demo.mentor.id)).status, 200, 'the mentor reads their own');
  t.equal((await read(jury0, demo.jury[0].id)).status, 200, 'a jury member reads their own');
  t.equal((await read(student, demo.mentor.id)).status, 200, 'the student reads their mentor\'s');
  t.equal((await read(coordinator, demo.mentor.id)).status, 200, 'a coordinator reads any');
  t.equal((await read(coordinator, demo.jury[1].id)).status, 200);
  for (const [who, token, hostId] of [
    ['mentor → jury', mentor, demo.jury[0].id],
    ['jury → mentor', jury0, demo.mentor.id],
    ['jury → other jury', jury1, demo.jury[0].id],
    ['student → a jury member', student, demo.jury[0].id],
  ] as const) {
    const res = await read(token, hostId);
    t.equal(res.status, 403, `${who}: 403`);
    t.match(res.headers.get('content-type'), /^application\/problem\+json/);
  }
});
