-- Set when the flow stopped the defence recording for an unrecorded deliberation,
-- so a new recording starts when the candidate comes back for the verdict.
ALTER TABLE defences ADD COLUMN recording_paused boolean NOT NULL DEFAULT false;
