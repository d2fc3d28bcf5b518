import t from 'tap';
import { parse } from 'csv-parse/sync';
import { CSV_COLUMNS, csvField, exportAttendanceCsv } from '../src/attendance/csv.ts';
import type { Queryable } from '../src/db/index.ts';
import type { AttendanceService, ParticipantAttendance, SessionAttendance } from '../src/attendance/service.ts';

// The auditor's CSV without the app: the quoting, the columns and the keyset
// paging, over a store and an attendance service standing in for the real ones
// (the HTTP export against the real store is in attendance-api.test.ts).

t.test('fields: RFC 4180 quoting, and formulas defused', async (t) => {
  t.equal(csvField(null), '');
  t.equal(csvField(undefined), '');
  t.equal(csvField(42), '42');
  t.equal(csvField(-5), '-5', 'a negative number is a number, not a formula');
  t.equal(csvField(true), 'true');
  t.equal(csvField('plain'), 'plain');
  t.equal(csvField('a,b'), '"a,b"');
  t.equal(csvField('say "hi"'), '"say ""hi"""');
  t.equal(csvField('two\nlines'), '"two\nlines"');
  t.equal(csvField('cr\r'), '"cr\r"');
  for (const lead of ['=', '+', '-', '@', '\t', '\r']) t.match(csvField(`${lead}SUM(A1)`), /^"?'/, `a value starting with ${JSON.stringify(lead)} is not run as a formula`);
  t.equal(csvField('=1+1'), "'=1+1");
  t.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`, 'defused, then quoted');
  t.equal(csvField('\r=1'), `"'\r=1"`);
});

const iso = (s: number) => new Date(Date.UTC(2026, 2, 2, 9, 0, s)).toISOString();

function participant(userId: string, over: Partial<ParticipantAttendance> = {}): ParticipantAttendance {
  return {
    userId,
    name: `Name ${userId}`,
    email: `${userId}@school.test`,
    role: 'student',
    status: 'present',
    late: false,
    leftEarly: false,
    presentNow: false,
    firstJoinAt: iso(30),
    lastLeaveAt: iso(2400),
    latenessSeconds: 30,
    attendedSeconds: 2370,
    networkGaps: 1,
    networkGapSeconds: 30,
    micSeconds: 2000,
    cameraSeconds: 2330,
    screenSeconds: 300,
    transportFailures: 0,
    intervals: [{ from: iso(30), to: iso(2400) }],
    quality: {} as ParticipantAttendance['quality'],
    noShowMarkedAt: null,
    presenceEvents: 4,
    corrected: false,
    corrections: [],
    ...over,
  } as ParticipantAttendance;
}

interface Row {
  id: string;
  kind: 'mentoring' | 'defence';
  startsAt: Date;
  endsAt: Date;
  status: 'scheduled' | 'completed';
  pathTitle: string;
  projectTitle: string | null;
  studentName: string;
}

const sessions: Row[] = [1, 2, 3].map((n) => ({
  id: `00000000-0000-4000-8000-00000000000${n}`,
  kind: n === 3 ? 'defence' : 'mentoring',
  startsAt: new Date(Date.UTC(2026, 2, n, 9)),
  endsAt: new Date(Date.UTC(2026, 2, n, 10)),
  status: n === 1 ? 'completed' : 'scheduled',
  pathTitle: 'Front-end developer',
  projectTitle: n === 3 ? null : `Project, "${n}"`,
  studentName: '=Eve',
}));

/** The sessions after the keyset ($4, $5), `$6` of them, as the SELECT would page them. */
function fakeStore(): Queryable & { calls: unknown[][] } {
  const calls: unknown[][] = [];
  return {
    calls,
    async query<R extends object>(_sql: string, params: readonly unknown[] = []): Promise<R[]> {
      calls.push([...params]);
      const [, , , afterStartsAt, afterId, limit] = params as [string, Date, Date, Date | null, string | null, number];
      const rest = sessions.filter((s) => !afterStartsAt || s.startsAt > afterStartsAt || (s.startsAt.getTime() === afterStartsAt.getTime() && s.id > afterId!));
      return rest.slice(0, limit) as unknown as R[];
    },
    one: async () => undefined,
    execute: async () => 0,
    exec: async () => undefined,
    afterCommit: (fn) => fn(),
  };
}

const service = {
  async sessionsAttendance(page: Row[]): Promise<SessionAttendance[]> {
    return page.map((s) => ({
      sessionId: s.id,
      kind: s.kind,
      sessionStatus: s.status,
      startsAt: s.startsAt.toISOString(),
      endsAt: s.endsAt.toISOString(),
      state: s.status === 'completed' ? 'finalized' : 'live',
      finalizedAt: s.status === 'completed' ? s.endsAt.toISOString() : null,
      noShowCheckedAt: null,
      participants: [
        participant(`mentor-${s.id.slice(-1)}`, { role: 'mentor', name: 'Ana, mentor' }),
        participant(`student-${s.id.slice(-1)}`, {
          corrected: s.status === 'completed',
          corrections:
            s.status === 'completed'
              ? [
                  {
                    at: iso(4000),
                    by: 'coordinator',
                    before: { status: 'left_early', attendedSeconds: 2370 },
                    after: { status: 'present', attendedSeconds: 2400 },
                    reason: 'Clock skew',
                  } as ParticipantAttendance['corrections'][number],
                ]
              : [],
        }),
      ],
    }));
  },
} as unknown as AttendanceService;

async function csvOf(pageSize: number): Promise<{ text: string; store: ReturnType<typeof fakeStore> }> {
  const store = fakeStore();
  let text = '';
  for await (const chunk of exportAttendanceCsv(store, service, { pathId: 'p', from: new Date(0), to: new Date(Date.UTC(2027, 0)) }, pageSize)) text += chunk;
  return { text, store };
}

t.test('the export: a header, one row per session and participant, the derived figures', async (t) => {
  const { text, store } = await csvOf(100);
  t.ok(text.endsWith('\r\n'), 'CRLF line ends');
  const header = text.slice(0, text.indexOf('\r\n'));
  t.equal(header, CSV_COLUMNS.join(','));
  const rows = parse(text, { columns: true }) as Array<Record<(typeof CSV_COLUMNS)[number], string>>;
  t.equal(rows.length, 6);
  t.same(
    rows.map((r) => [r.session_id.slice(-1), r.participant_role]),
    [['1', 'mentor'], ['1', 'student'], ['2', 'mentor'], ['2', 'student'], ['3', 'mentor'], ['3', 'student']],
  );
  t.match(rows[1], {
    session_kind: 'mentoring',
    path_title: 'Front-end developer',
    project_title: 'Project, "1"',
    student_name: "'=Eve",
    scheduled_start_utc: '2026-03-01T09:00:00.000Z',
    scheduled_end_utc: '2026-03-01T10:00:00.000Z',
    scheduled_seconds: '3600',
    session_status: 'completed',
    record_state: 'finalized',
    finalized_at_utc: '2026-03-01T10:00:00.000Z',
    participant_name: 'Name student-1',
    attendance_status: 'present',
    late: 'false',
    first_join_utc: iso(30),
    lateness_seconds: '30',
    attended_seconds: '2370',
    network_gaps: '1',
    camera_seconds: '2330',
    presence_intervals_utc: `${iso(30)}/${iso(2400)}`,
    presence_events: '4',
    no_show_marked_at_utc: '',
    corrected: 'true',
    correction_history: `${iso(4000)} by coordinator left_early->present 2370s->2400s: Clock skew`,
  });
  t.equal(rows[0]!.participant_name, 'Ana, mentor');
  t.equal(rows[4]!.project_title, '', 'no project: an empty field');
  t.equal(store.calls.length, 1, 'one short page: no second query');
});

t.test('keyset pages join up into the same file, each page after the last row of the one before', async (t) => {
  const whole = (await csvOf(100)).text;
  for (const pageSize of [1, 2, 3]) {
    const { text, store } = await csvOf(pageSize);
    t.equal(text, whole, `pages of ${pageSize}`);
    t.same(store.calls[0]!.slice(3, 6), [null, null, pageSize], 'the first page starts at the beginning');
    for (let i = 1; i < store.calls.length; i++) {
      const last = sessions[i * pageSize - 1]!;
      t.same(store.calls[i]!.slice(3, 5), [last.startsAt, last.id], `page ${i + 1} follows ${last.id.slice(-1)}`);
    }
    // Full pages ask once more (and find nothing, or the short rest).
    t.equal(store.calls.length, Math.floor(sessions.length / pageSize) + 1);
  }
});

t.test('nothing in the range: the header alone', async (t) => {
  const store: Queryable = { ...fakeStore(), query: async () => [] };
  let text = '';
  for await (const chunk of exportAttendanceCsv(store, service, { pathId: 'p', from: new Date(0), to: new Date(1) })) text += chunk;
  t.same(parse(text), [[...CSV_COLUMNS]]);
});
