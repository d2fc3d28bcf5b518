-- Presence from the media itself: rooms watches the packets each participant's
-- producers send and logs when their media flows, is lost (dated back to the
-- last packet) or has nothing to say (no running producer). And the connection
-- quality of each participant, one row per change of level (append-only like
-- the presence log), so the record can say "poor from 14:32 to 14:36".
ALTER TABLE presence_events DROP CONSTRAINT presence_events_type_check;
ALTER TABLE presence_events ADD CONSTRAINT presence_events_type_check CHECK (type IN ('join', 'leave', 'disconnect',
  'reconnect', 'transport_connected', 'transport_failed', 'producer_started', 'producer_stopped', 'producer_paused',
  'producer_resumed', 'media_flowing', 'media_lost', 'media_idle'));

CREATE TABLE connection_quality_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session_id uuid NOT NULL REFERENCES sessions(id),
  user_id uuid NOT NULL REFERENCES users(id),
  level text NOT NULL CHECK (level IN ('excellent', 'good', 'poor', 'lost')),
  at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connection_quality_events_session ON connection_quality_events (session_id, at, id);
CREATE TRIGGER connection_quality_events_append_only BEFORE UPDATE OR DELETE ON connection_quality_events
  FOR EACH ROW EXECUTE FUNCTION presence_events_append_only();

-- The frozen record keeps the quality summary (seconds per level, periods below excellent).
ALTER TABLE attendance_records ADD COLUMN quality jsonb;
