-- Access tokens carry the user's token version (`ver`); bumping it (logout, password
-- change, role change, disabling) revokes every access token issued before, at once.
ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN disabled_at timestamptz;
