-- Live sessions: a mentoring session (student + mentor, about one project) or a
-- jury defence (candidate + 2-3 jury members). Scheduling creates and changes
-- them; rooms, attendance, recording and progression read them through
-- src/sessions. Times are UTC (timestamptz).
CREATE TABLE sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind text NOT NULL CHECK (kind IN ('mentoring', 'defence')),
  enrollment_id uuid NOT NULL REFERENCES enrollments(id),
  project_id uuid REFERENCES projects(id),
  host_id uuid NOT NULL REFERENCES users(id),
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  status text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled', 'completed')),
  -- iCalendar SEQUENCE: raised once per significant change (time, status).
  sequence integer NOT NULL DEFAULT 0,
  created_by uuid REFERENCES users(id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (ends_at > starts_at),
  CHECK (kind = 'defence' OR project_id IS NOT NULL)
);
CREATE INDEX sessions_enrollment ON sessions (enrollment_id);
CREATE INDEX sessions_time ON sessions (starts_at);

-- Who takes part, with their role in this session. `busy` rows hold the
-- participant's calendar: the exclusion constraint makes a double booking of
-- anyone impossible, whatever the code above it does. Back-to-back is allowed
-- ([) ranges). Cancelling a session sets busy = false.
CREATE TABLE session_participants (
  session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users(id),
  role text NOT NULL CHECK (role IN ('student', 'mentor', 'jury', 'observer')),
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  busy boolean NOT NULL DEFAULT true,
  PRIMARY KEY (session_id, user_id),
  CONSTRAINT session_participants_no_overlap
    EXCLUDE USING gist (user_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (busy)
);
CREATE INDEX session_participants_user ON session_participants (user_id, starts_at);
