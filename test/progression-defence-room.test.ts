import t from 'tap';
import { nextEvent, request, startTestApp } from './helpers/app.ts';
import { insertLiveDefence } from './helpers/sessions.ts';

/**
 * The defence flow drives the live media room (rooms capability): the
 * candidate is isolated in the lobby and during deliberation, back otherwise.
 */
t.test('the defence isolates the candidate in the media room', async (t) => {
  const { db, demo, login, socket } = await startTestApp(t);
  const sessionId = await insertLiveDefence(db, demo);
  const [studentToken, juryToken] = await Promise.all([login(demo.student), login(demo.jury[0])]);

  const juryRoom = socket(juryToken, '/rooms');
  const recordingStarted = nextEvent<any>(juryRoom, 'recordingState', (e) => e.recording === true);
  const jr = await request<any>(juryRoom, 'join', { sessionId });
  t.ok(jr.data, `jury joined the room ${JSON.stringify(jr.error ?? '')}`);
  const firstRecording = await recordingStarted;
  t.pass('the defence records on its own (recording capability)');

  const isolation = (match: (e: any) => boolean) => nextEvent<any>(juryRoom, 'isolationChanged', (e) => e.userId === demo.student.id && match(e));
  const lobby = isolation((e) => e.isolated === true && e.reason === 'lobby');
  const candidateRoom = socket(studentToken, '/rooms');
  t.ok((await request<any>(candidateRoom, 'join', { sessionId })).data, 'candidate joined the room');
  await lobby;
  t.pass('the candidate waits isolated in the lobby');

  const jury = socket(juryToken, '/defence');
  await request(jury, 'join', { sessionId });
  const admitted = isolation((e) => e.isolated === false);
  t.equal((await request<any>(jury, 'admit', { sessionId })).data.phase, 'presentation');
  await admitted;
  t.pass('admitted: the candidate is seen and heard');

  await request(jury, 'advance', { sessionId, to: 'questions' });
  const deliberation = isolation((e) => e.isolated === true && e.reason === 'deliberation');
  const recordingStopped = nextEvent<any>(juryRoom, 'recordingState', (e) => e.recording === false && e.recordingId === firstRecording.recordingId);
  const delib = await request<any>(jury, 'advance', { sessionId, to: 'deliberation' });
  t.equal(delib.data.recording, false);
  await deliberation;
  t.pass('deliberation: the candidate is moved out');
  await recordingStopped;
  t.pass('deliberation is not recorded (RECORD_DELIBERATION off)');

  const back = isolation((e) => e.isolated === false);
  const recordingAgain = nextEvent<any>(juryRoom, 'recordingState', (e) => e.recording === true && e.recordingId !== firstRecording.recordingId);
  await request(jury, 'advance', { sessionId, to: 'verdict' });
  await back;
  t.pass('verdict: the candidate is back');
  await recordingAgain;
  t.pass('the verdict is recorded again');
});
