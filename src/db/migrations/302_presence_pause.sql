-- A paused producer (mic muted, camera off) is not media time: the presence
-- log also records producer pauses and resumes (with their source).
ALTER TABLE presence_events DROP CONSTRAINT presence_events_type_check;
ALTER TABLE presence_events ADD CONSTRAINT presence_events_type_check CHECK (type IN ('join', 'leave', 'disconnect',
  'reconnect', 'transport_connected', 'transport_failed', 'producer_started', 'producer_stopped', 'producer_paused',
  'producer_resumed'));
