import t from 'tap';
import { api, startTestApp } from './helpers/app.ts';

t.test('parallel refreshes of one token get the same new pair; reuse after the grace revokes the family', async (t) => {
  const { url, db, demo } = await startTestApp(t);
  const first = await api(url, 'POST', '/auth/login', undefined, { email: demo.mentor.email, password: demo.mentor.password });
  t.equal(first.status, 200);

  const answers = await Promise.all(Array.from({ length: 10 }, () => api(url, 'POST', '/auth/refresh', undefined, { refreshToken: first.body.refreshToken })));
  t.same(answers.map((a) => a.status), Array(10).fill(200), 'all ten concurrent refreshes succeed');
  const successors = new Set(answers.map((a) => a.body.refreshToken));
  t.equal(successors.size, 1, 'all get the same new refresh token');
  const successor = answers[0]!.body.refreshToken as string;
  t.not(successor, first.body.refreshToken);
  for (const a of answers) t.equal((await api(url, 'GET', '/me', a.body.accessToken)).status, 200, 'every access token works');
  const live = await db.one<{ n: number }>(`SELECT count(*)::int AS n FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL`, [demo.mentor.id]);
  t.equal(live!.n, 1, 'one live refresh token: the successor');

  // The grace (REFRESH_GRACE_SECONDS, 10 s by default) has passed: the old token is a stolen one.
  await db.execute(`UPDATE refresh_tokens SET revoked_at = revoked_at - interval '1 minute' WHERE user_id = $1 AND revoked_at IS NOT NULL`, [demo.mentor.id]);
  const reuse = await api(url, 'POST', '/auth/refresh', undefined, { refreshToken: first.body.refreshToken });
  t.equal(reuse.status, 401);
  t.equal(reuse.body.code, 'refresh_token_revoked');
  const after = await api(url, 'POST', '/auth/refresh', undefined, { refreshToken: successor });
  t.equal(after.status, 401, 'the successor is revoked with the family');
});
