-- Code review during a live session: documents (a file the student opened or a
-- pasted diff) and threaded, resolvable line comments, stored with the session.
-- A thread is a root comment (parent_id NULL) on one line of one document and
-- its replies; resolving is done on the root. recording_offset_ms is the time
-- into the session's recording when the comment was written (NULL when no
-- recording was running).
CREATE TABLE review_documents (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  author_id uuid NOT NULL REFERENCES users(id),
  kind text NOT NULL CHECK (kind IN ('file', 'diff')),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  language text,
  content text NOT NULL,
  line_count integer NOT NULL CHECK (line_count > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX review_documents_session ON review_documents (session_id, created_at);

CREATE TABLE review_comments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id uuid NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
  document_id uuid NOT NULL REFERENCES review_documents(id) ON DELETE CASCADE,
  parent_id uuid REFERENCES review_comments(id) ON DELETE CASCADE,
  author_id uuid NOT NULL REFERENCES users(id),
  line integer NOT NULL CHECK (line > 0),
  body text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
  recording_offset_ms integer CHECK (recording_offset_ms IS NULL OR recording_offset_ms >= 0),
  resolved_at timestamptz,
  resolved_by uuid REFERENCES users(id),
  created_at timestamptz NOT NULL,
  CHECK (parent_id IS NULL OR resolved_at IS NULL)
);
CREATE INDEX review_comments_session ON review_comments (session_id, created_at);
CREATE INDEX review_comments_document ON review_comments (document_id, line);
