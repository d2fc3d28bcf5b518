-- The composite file of a recording (src/recording/composite.ts): one MP4 made
-- from the per-track segments after the recording is processed. The segments
-- stay the source of truth; this row says how far the composing job got.
CREATE TABLE recording_composites (
  recording_id uuid PRIMARY KEY REFERENCES recordings(id) ON DELETE CASCADE,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'ready', 'failed')),
  -- 0..1 of the recording's duration rendered so far
  progress real NOT NULL DEFAULT 0,
  file_name text,
  duration_ms integer,
  size_bytes bigint,
  sha256 text,
  -- [{ startMs, title }] written into the file
  chapters jsonb NOT NULL DEFAULT '[]'::jsonb,
  -- CPU time FFmpeg used (user + system), for the benchmark and capacity planning
  cpu_ms integer,
  attempts integer NOT NULL DEFAULT 0,
  error text,
  queued_at timestamptz NOT NULL,
  started_at timestamptz,
  finished_at timestamptz
);
