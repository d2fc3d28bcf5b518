-- Attendance: the presence log (append-only, server time), the frozen record
-- per session and participant, coordinator corrections, no-show marks and
-- cancellations (for the booking policy's counts).
CREATE TABLE presence_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES sessions(id),
  user_id uuid NOT NULL REFERENCES users(id),
  type text NOT NULL CHECK (type IN ('join', 'leave', 'disconnect', 'reconnect', 'transport_connected',
    'transport_failed', 'producer_started', 'producer_stopped')),
  source text CHECK (source IN ('mic', 'webcam', 'screen')),
  at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX presence_events_session ON presence_events (session_id, at, id);
CREATE INDEX presence_events_user ON presence_events (user_id, session_id) WHERE type IN ('join', 'reconnect');

-- The log is evidence: rows are never changed or removed.
CREATE FUNCTION presence_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'presence_events is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER presence_events_append_only BEFORE UPDATE OR DELETE ON presence_events
  FOR EACH ROW EXECUTE FUNCTION presence_events_append_only();

-- One row per session once attendance is tracked: its scheduled jobs and its freeze.
CREATE TABLE attendance_sessions (
  session_id uuid PRIMARY KEY REFERENCES sessions(id),
  no_show_job_id text,
  finalize_job_id text,
  no_show_checked_at timestamptz,
  finalized_at timestamptz,
  -- Open intervals were closed at this instant when the record was frozen.
  frozen_until timestamptz,
  -- The last presence event taken into the frozen record.
  last_event_id bigint
);

-- The frozen record (written at finalize, changed afterwards only by corrections).
CREATE TABLE attendance_records (
  session_id uuid NOT NULL REFERENCES sessions(id),
  user_id uuid NOT NULL REFERENCES users(id),
  role text NOT NULL CHECK (role IN ('student', 'mentor', 'jury', 'observer')),
  status text NOT NULL CHECK (status IN ('present', 'late', 'left_early', 'no_show')),
  first_join_at timestamptz,
  last_leave_at timestamptz,
  lateness_seconds integer,
  attended_seconds integer NOT NULL,
  network_gaps integer NOT NULL,
  network_gap_seconds integer NOT NULL,
  mic_seconds integer NOT NULL,
  camera_seconds integer NOT NULL,
  screen_seconds integer NOT NULL,
  transport_failures integer NOT NULL,
  intervals jsonb NOT NULL,
  late boolean NOT NULL,
  left_early boolean NOT NULL,
  corrected boolean NOT NULL DEFAULT false,
  finalized_at timestamptz NOT NULL,
  PRIMARY KEY (session_id, user_id)
);
CREATE INDEX attendance_records_user ON attendance_records (user_id);

CREATE TABLE attendance_corrections (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES sessions(id),
  user_id uuid NOT NULL REFERENCES users(id),
  corrected_by uuid NOT NULL REFERENCES users(id),
  reason text NOT NULL CHECK (length(reason) > 0),
  before jsonb NOT NULL,
  after jsonb NOT NULL,
  at timestamptz NOT NULL
);
CREATE INDEX attendance_corrections_session ON attendance_corrections (session_id, user_id, id);

-- Participants the no-show check found absent.
CREATE TABLE attendance_no_shows (
  session_id uuid NOT NULL REFERENCES sessions(id),
  user_id uuid NOT NULL REFERENCES users(id),
  marked_at timestamptz NOT NULL,
  PRIMARY KEY (session_id, user_id)
);
CREATE INDEX attendance_no_shows_user ON attendance_no_shows (user_id);

-- Cancellations as scheduling announced them (late = with less notice than the policy asks).
CREATE TABLE attendance_cancellations (
  session_id uuid PRIMARY KEY REFERENCES sessions(id),
  late boolean NOT NULL,
  cancelled_at timestamptz NOT NULL
);
