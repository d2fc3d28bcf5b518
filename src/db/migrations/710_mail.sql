-- Notification preferences (per user: which kinds reach which channels) and the
-- e-mail log. Invitations, updates and cancellations are transactional: they are
-- always sent. Reminders follow the preferences; every mail carries a one-click
-- unsubscribe link (RFC 8058) that turns reminder e-mails off.
CREATE TABLE notification_preferences (
  user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  reminder_email boolean NOT NULL DEFAULT true,
  reminder_browser boolean NOT NULL DEFAULT true,
  unsubscribe_token text NOT NULL UNIQUE,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per message. `dedupe_key` names the change it announces (session,
-- SEQUENCE, recipient, method), so a change is mailed once whatever retries or
-- repeated events happen. The message is rendered when the change happens and
-- stored whole (`raw`, RFC 5322), so a later change cannot alter an earlier mail.
CREATE TABLE mail_messages (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  dedupe_key text NOT NULL UNIQUE,
  kind text NOT NULL CHECK (kind IN ('invitation', 'update', 'cancellation', 'reminder')),
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  session_id uuid REFERENCES sessions(id) ON DELETE SET NULL,
  recipient text NOT NULL,
  subject text NOT NULL,
  message_id text NOT NULL,
  raw text NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'dead')),
  attempts integer NOT NULL DEFAULT 0,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
);
CREATE INDEX mail_messages_status ON mail_messages (status, created_at);
CREATE INDEX mail_messages_session ON mail_messages (session_id);
