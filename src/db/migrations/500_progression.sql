-- Path progression: mentor evaluations, jury defences and verdicts, diplomas,
-- webhooks (subscriptions, deliveries, attempts) and an audit trail.

-- Competence blocks of a path (the jury marks each one). A path without rows
-- accepts free block names in a verdict.
CREATE TABLE competence_blocks (
  path_id uuid NOT NULL REFERENCES paths(id) ON DELETE CASCADE,
  code text NOT NULL,
  title text NOT NULL,
  position smallint NOT NULL DEFAULT 1,
  PRIMARY KEY (path_id, code)
);

-- A mentor's evaluation of the project assessed in a mentoring session (one per session).
CREATE TABLE evaluations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id uuid NOT NULL UNIQUE REFERENCES sessions(id),
  enrollment_id uuid NOT NULL REFERENCES enrollments(id),
  project_id uuid NOT NULL REFERENCES projects(id),
  mentor_id uuid NOT NULL REFERENCES users(id),
  outcome text NOT NULL CHECK (outcome IN ('validated', 'needs_revision')),
  feedback text NOT NULL,
  code_review_comments jsonb NOT NULL DEFAULT '[]'::jsonb,
  created_at timestamptz NOT NULL
);
CREATE INDEX evaluations_enrollment ON evaluations (enrollment_id, created_at);

-- The live state of a jury defence (one row per defence session). State lives
-- here, not in a socket, so any jury member or a coordinator can carry on.
CREATE TABLE defences (
  session_id uuid PRIMARY KEY REFERENCES sessions(id),
  enrollment_id uuid NOT NULL REFERENCES enrollments(id),
  candidate_id uuid NOT NULL REFERENCES users(id),
  phase text NOT NULL DEFAULT 'lobby'
    CHECK (phase IN ('lobby', 'presentation', 'questions', 'deliberation', 'verdict', 'completed')),
  phase_started_at timestamptz,
  phase_ends_at timestamptz,
  outcome text CHECK (outcome IN ('pass', 'fail')),
  completed_at timestamptz,
  retake_allowed_from timestamptz,
  version integer NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL
);
CREATE INDEX defences_enrollment ON defences (enrollment_id);

-- A verdict proposed by a jury member; it becomes final when every jury member
-- of the session has confirmed it. A new proposal supersedes the open one.
CREATE TABLE verdicts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  session_id uuid NOT NULL REFERENCES defences(session_id),
  outcome text NOT NULL CHECK (outcome IN ('pass', 'fail')),
  marks jsonb NOT NULL,
  comment text NOT NULL,
  proposed_by uuid NOT NULL REFERENCES users(id),
  status text NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'superseded', 'final')),
  created_at timestamptz NOT NULL,
  finalized_at timestamptz
);
CREATE UNIQUE INDEX verdicts_one_open ON verdicts (session_id) WHERE status IN ('proposed', 'final');

CREATE TABLE verdict_confirmations (
  verdict_id uuid NOT NULL REFERENCES verdicts(id) ON DELETE CASCADE,
  jury_id uuid NOT NULL REFERENCES users(id),
  confirmed_at timestamptz NOT NULL,
  PRIMARY KEY (verdict_id, jury_id)
);

CREATE TABLE diplomas (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  reference text NOT NULL UNIQUE,
  enrollment_id uuid NOT NULL UNIQUE REFERENCES enrollments(id),
  student_id uuid NOT NULL REFERENCES users(id),
  path_id uuid NOT NULL REFERENCES paths(id),
  path_title text NOT NULL,
  eqf_level smallint NOT NULL,
  issued_on date NOT NULL,
  jury jsonb NOT NULL,
  defence_session_id uuid NOT NULL REFERENCES sessions(id),
  created_at timestamptz NOT NULL
);

CREATE TABLE webhook_subscriptions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  url text NOT NULL,
  secret text NOT NULL,
  events text[] NOT NULL,
  description text NOT NULL DEFAULT '',
  active boolean NOT NULL DEFAULT true,
  created_by uuid REFERENCES users(id),
  created_at timestamptz NOT NULL
);

CREATE TABLE webhook_deliveries (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  subscription_id uuid NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
  event text NOT NULL,
  payload jsonb NOT NULL,
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'retrying', 'delivered', 'dead_letter')),
  attempts integer NOT NULL DEFAULT 0,
  -- attempts made before the last manual redelivery (the budget restarts there)
  retry_base integer NOT NULL DEFAULT 0,
  last_status_code integer,
  last_error text,
  created_at timestamptz NOT NULL,
  delivered_at timestamptz,
  dead_at timestamptz
);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (subscription_id, created_at);

-- The delivery log: one row per HTTP attempt.
CREATE TABLE webhook_delivery_attempts (
  delivery_id uuid NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  status_code integer,
  error text,
  duration_ms integer NOT NULL,
  at timestamptz NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);

-- Every state change of progress, evaluations, defences, verdicts and diplomas.
CREATE TABLE progression_audit (
  id bigserial PRIMARY KEY,
  entity text NOT NULL CHECK (entity IN ('project_progress', 'evaluation', 'defence', 'verdict', 'diploma', 'enrollment', 'webhook_subscription')),
  entity_id text NOT NULL,
  enrollment_id uuid REFERENCES enrollments(id),
  action text NOT NULL,
  from_state text,
  to_state text,
  actor_id uuid REFERENCES users(id),
  data jsonb NOT NULL DEFAULT '{}'::jsonb,
  at timestamptz NOT NULL
);
CREATE INDEX progression_audit_enrollment ON progression_audit (enrollment_id, id);
CREATE INDEX progression_audit_entity ON progression_audit (entity, entity_id, id);
