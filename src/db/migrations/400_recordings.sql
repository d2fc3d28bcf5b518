-- Recordings of live sessions (src/recording). A recording is one start/stop
-- span of a session's room; it has one segment per recorded track piece (a
-- producer, or a new FFmpeg after one died) and gaps (pauses, dead
-- recorders). Files live under RECORDINGS_DIR; after the retention period
-- they are deleted and the rows stay (files_deleted_at).
CREATE TABLE recordings (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  status text NOT NULL DEFAULT 'recording' CHECK (status IN ('recording', 'processing', 'ready', 'failed')),
  -- null: started automatically (defence room opened)
  started_by uuid REFERENCES users(id),
  started_at timestamptz NOT NULL,
  stopped_by uuid REFERENCES users(id),
  stopped_at timestamptz,
  -- stopped | room_closed | server_shutdown | interrupted (the process died) | consent_withdrawn | recorder_failed
  stop_reason text,
  report jsonb,
  error text,
  processed_at timestamptz,
  -- the server process that records (to tell a crashed recorder from a live one at start-up)
  recorder_host text,
  recorder_pid integer,
  files_deleted_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recordings_session ON recordings (session_id, started_at);
-- At most one recording running per session.
CREATE UNIQUE INDEX recordings_one_active ON recordings (session_id) WHERE status = 'recording';

CREATE TABLE recording_segments (
  id uuid PRIMARY KEY,
  recording_id uuid NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
  producer_id text NOT NULL,
  user_id uuid NOT NULL,
  source text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('audio', 'video')),
  mime_type text NOT NULL,
  file_name text NOT NULL,
  opened_at timestamptz NOT NULL,
  -- wall-clock time of the first packet (the file's time 0); null if no media came
  started_at timestamptz,
  ended_at timestamptz,
  end_reason text,
  status text NOT NULL DEFAULT 'recording' CHECK (status IN ('recording', 'recorded', 'ready', 'empty', 'broken', 'deleted')),
  duration_ms integer,
  size_bytes bigint,
  sha256 text,
  probe jsonb,
  UNIQUE (recording_id, file_name)
);
CREATE INDEX recording_segments_recording ON recording_segments (recording_id, opened_at);

CREATE TABLE recording_gaps (
  id bigserial PRIMARY KEY,
  recording_id uuid NOT NULL REFERENCES recordings(id) ON DELETE CASCADE,
  producer_id text NOT NULL,
  user_id uuid NOT NULL,
  source text NOT NULL,
  from_at timestamptz NOT NULL,
  to_at timestamptz NOT NULL,
  reason text NOT NULL
);
CREATE INDEX recording_gaps_recording ON recording_gaps (recording_id);

-- A mentoring session is recorded only with its student's consent.
CREATE TABLE recording_consents (
  session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  student_id uuid NOT NULL REFERENCES users(id),
  granted boolean NOT NULL,
  decided_at timestamptz NOT NULL,
  PRIMARY KEY (session_id, student_id)
);
