-- The school's model: people, learning paths, projects, enrollments, progress.
-- Numbering: 001-099 foundation, 1xx scheduling, 2xx rooms, 3xx attendance,
-- 4xx recording, 5xx progression. Files are applied in name order.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email text NOT NULL,
  name text NOT NULL,
  role text NOT NULL CHECK (role IN ('student', 'mentor', 'jury', 'coordinator')),
  time_zone text NOT NULL,
  locale text NOT NULL DEFAULT 'en' CHECK (locale IN ('en', 'fr', 'es')),
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE refresh_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash text NOT NULL UNIQUE,
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE paths (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug text NOT NULL UNIQUE,
  title text NOT NULL,
  language text NOT NULL CHECK (language IN ('en', 'fr', 'es')),
  eqf_level smallint NOT NULL CHECK (eqf_level IN (6, 7)),
  duration_months smallint NOT NULL CHECK (duration_months > 0)
);

CREATE TABLE projects (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  path_id uuid NOT NULL REFERENCES paths(id) ON DELETE CASCADE,
  position smallint NOT NULL CHECK (position > 0),
  title text NOT NULL,
  description text NOT NULL DEFAULT '',
  UNIQUE (path_id, position)
);

CREATE TABLE enrollments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  student_id uuid NOT NULL REFERENCES users(id),
  path_id uuid NOT NULL REFERENCES paths(id),
  mentor_id uuid REFERENCES users(id),
  tier text NOT NULL CHECK (tier IN ('free', 'premium_solo', 'premium_plus')),
  started_at timestamptz NOT NULL DEFAULT now(),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'completed', 'withdrawn')),
  UNIQUE (student_id, path_id),
  -- Only premium_plus students have a mentor.
  CHECK (mentor_id IS NULL OR tier = 'premium_plus')
);
CREATE INDEX enrollments_mentor ON enrollments (mentor_id);

CREATE TABLE project_progress (
  enrollment_id uuid NOT NULL REFERENCES enrollments(id) ON DELETE CASCADE,
  project_id uuid NOT NULL REFERENCES projects(id),
  state text NOT NULL DEFAULT 'locked'
    CHECK (state IN ('locked', 'in_progress', 'submitted', 'validated', 'needs_revision')),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (enrollment_id, project_id)
);
