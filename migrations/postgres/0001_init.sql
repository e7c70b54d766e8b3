-- The schema of migrations/sqlite/0001-0005 for PostgreSQL, in one step.
-- Integers are BIGINT and flags 0/1 so that both databases read the same types.
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    is_admin      BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);

CREATE TABLE setups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    archived    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    owner_id    BIGINT REFERENCES users(id),
    s4_host     TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL DEFAULT '',
    done_pages  BIGINT NOT NULL DEFAULT 0,
    total_pages BIGINT NOT NULL DEFAULT 0,
    rev         BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX setups_by_change ON setups (archived, updated_at DESC, id DESC);
CREATE INDEX setups_by_owner ON setups (owner_id);
CREATE INDEX setups_by_status ON setups (archived, status, updated_at DESC, id DESC);

CREATE TABLE answers (
    setup_id     TEXT NOT NULL REFERENCES setups(id) ON DELETE CASCADE,
    page         TEXT NOT NULL,
    data         TEXT NOT NULL,
    version      BIGINT NOT NULL,
    basis        TEXT NOT NULL,
    problem      TEXT,
    updated_at   BIGINT NOT NULL,
    updated_by   TEXT NOT NULL,
    checked_note TEXT,
    checked_at   BIGINT,
    PRIMARY KEY (setup_id, page)
);

CREATE TABLE invites (
    token_hash  TEXT PRIMARY KEY,
    user_name   TEXT,
    is_admin    BIGINT NOT NULL DEFAULT 0,
    created_by  TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL
);

CREATE TABLE setup_members (
    setup_id  TEXT NOT NULL REFERENCES setups(id) ON DELETE CASCADE,
    user_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role      TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
    PRIMARY KEY (setup_id, user_id)
);
CREATE INDEX setup_members_by_user ON setup_members (user_id);

CREATE TABLE audit (
    id        BIGSERIAL PRIMARY KEY,
    setup_id  TEXT NOT NULL REFERENCES setups(id) ON DELETE CASCADE,
    user_name TEXT NOT NULL,
    page      TEXT NOT NULL,
    field     TEXT NOT NULL,
    at        BIGINT NOT NULL
);
CREATE INDEX audit_by_setup ON audit (setup_id, at);

CREATE TABLE calls (
    id          BIGSERIAL PRIMARY KEY,
    setup_id    TEXT NOT NULL REFERENCES setups(id) ON DELETE CASCADE,
    page        TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    at          BIGINT NOT NULL,
    method      TEXT NOT NULL,
    url         TEXT NOT NULL,
    status      BIGINT,
    duration_ms BIGINT NOT NULL,
    outcome     TEXT NOT NULL
);
CREATE INDEX calls_by_setup ON calls (setup_id, at);

CREATE TABLE verifications (
    setup_id   TEXT PRIMARY KEY REFERENCES setups(id) ON DELETE CASCADE,
    at         BIGINT NOT NULL,
    user_name  TEXT NOT NULL,
    results    TEXT NOT NULL
);

-- Which instance offers the single-use link that creates the first
-- administrator: the one that claims this row (again once it expired).
CREATE TABLE bootstrap (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    expires_at  BIGINT NOT NULL
);
