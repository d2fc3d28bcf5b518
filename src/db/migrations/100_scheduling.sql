-- Scheduling: hosts' availability, the history of every session change,
-- notifications (reminders; an outbox for e-mail later) and calendar feeds.
-- Times are UTC (timestamptz); wall-clock rules are minutes after local
-- midnight in the host's IANA zone.

-- One row per host (mentor or jury member) who published availability.
CREATE TABLE availability_settings (
  user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  time_zone text NOT NULL,
  buffer_minutes integer NOT NULL DEFAULT 15 CHECK (buffer_minutes BETWEEN 0 AND 240),
  -- NULL: the server's default (MINIMUM_NOTICE_MINUTES / BOOKING_HORIZON_DAYS).
  minimum_notice_minutes integer CHECK (minimum_notice_minutes BETWEEN 0 AND 20160),
  horizon_days integer CHECK (horizon_days BETWEEN 1 AND 366),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Weekly rules: ISO weekday (1 = Monday) and a wall-clock window [start, end).
CREATE TABLE availability_rules (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  weekday smallint NOT NULL CHECK (weekday BETWEEN 1 AND 7),
  start_minute smallint NOT NULL CHECK (start_minute BETWEEN 0 AND 1439),
  end_minute smallint NOT NULL CHECK (end_minute BETWEEN 1 AND 1440),
  CHECK (end_minute > start_minute),
  -- Rules of one weekday never overlap (back-to-back is fine).
  CONSTRAINT availability_rules_no_overlap
    EXCLUDE USING gist (user_id WITH =, weekday WITH =, int4range(start_minute, end_minute, '[)') WITH &&)
);
CREATE INDEX availability_rules_user ON availability_rules (user_id);

-- A date override replaces the weekly rules of that local date; an empty
-- windows array = unavailable all day.
CREATE TABLE availability_overrides (
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  local_date date NOT NULL,
  -- [{ "start": "HH:mm", "end": "HH:mm" }, …] in the host's zone.
  windows jsonb NOT NULL DEFAULT '[]',
  PRIMARY KEY (user_id, local_date)
);

-- Absolute periods when a host is away (holidays, a conference).
CREATE TABLE time_off (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  reason text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (ends_at > starts_at)
);
CREATE INDEX time_off_user ON time_off (user_id, starts_at);

-- Every change of a session, in order: booked, rescheduled, cancelled.
CREATE TABLE session_changes (
  id bigserial PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  change text NOT NULL CHECK (change IN ('booked', 'rescheduled', 'cancelled')),
  changed_by uuid REFERENCES users(id),
  changed_by_role text,
  old_starts_at timestamptz,
  old_ends_at timestamptz,
  new_starts_at timestamptz,
  new_ends_at timestamptz,
  -- Less notice than LATE_CANCEL_NOTICE_HOURS before the (old) start.
  late boolean NOT NULL DEFAULT false,
  reason text NOT NULL DEFAULT '',
  sequence integer NOT NULL,
  at timestamptz NOT NULL
);
CREATE INDEX session_changes_session ON session_changes (session_id, id);

-- Notifications shown in the app (Socket.IO `notification`) and kept as an
-- outbox for e-mail delivery later (emailed_at).
CREATE TABLE notifications (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind text NOT NULL,
  session_id uuid REFERENCES sessions(id) ON DELETE CASCADE,
  payload jsonb NOT NULL DEFAULT '{}',
  -- Makes delivery idempotent when a job is retried.
  dedupe_key text UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  read_at timestamptz,
  emailed_at timestamptz
);
CREATE INDEX notifications_user ON notifications (user_id, created_at DESC);

-- Secret calendar-feed token per user; rotating replaces it (the old URL stops working).
CREATE TABLE calendar_tokens (
  user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  token text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
