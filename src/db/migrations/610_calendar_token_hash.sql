-- Calendar-feed URLs are bearer secrets: keep only their SHA-256 (hex), as for
-- refresh tokens. The token itself is derived from the server secret and a
-- random per-user nonce (src/scheduling/calendar.ts), so the owner's URL can
-- be shown again without being stored; rotating replaces the nonce.
ALTER TABLE calendar_tokens ADD COLUMN token_hash text;
ALTER TABLE calendar_tokens ADD COLUMN nonce text;
-- Tokens issued before this keep working by their hash (nonce NULL: their URL
-- cannot be shown again, so the owner's next request for it issues a new one).
UPDATE calendar_tokens SET token_hash = encode(sha256(convert_to(token, 'UTF8')), 'hex');
ALTER TABLE calendar_tokens ALTER COLUMN token_hash SET NOT NULL;
ALTER TABLE calendar_tokens ADD CONSTRAINT calendar_tokens_token_hash_key UNIQUE (token_hash);
ALTER TABLE calendar_tokens DROP COLUMN token;
