-- Accounts, one-time links, sessions, per-setup access and the audit trail.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    is_admin      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

-- Single-use links that set a password (first administrator, new users,
-- resets). Only the SHA-256 of the token is stored.
CREATE TABLE invites (
    token_hash  TEXT PRIMARY KEY,
    user_name   TEXT,
    is_admin    INTEGER NOT NULL DEFAULT 0,
    created_by  TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);

-- Sessions by SHA-256 of the cookie value; the cookie itself is never stored.
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL
);

ALTER TABLE setups ADD COLUMN owner_id INTEGER REFERENCES users(id);

CREATE TABLE setup_members (
    setup_id  TEXT NOT NULL REFERENCES setups(id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role      TEXT NOT NULL CHECK (role IN ('editor', 'viewer')),
    PRIMARY KEY (setup_id, user_id)
);

-- Who changed which answer of which setup, when. Never values.
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    setup_id  TEXT NOT NULL REFERENCES setups(id) ON DELETE CASCADE,
    user_name TEXT NOT NULL,
    page      TEXT NOT NULL,
    field     TEXT NOT NULL,
    at        INTEGER NOT NULL
);
CREATE INDEX audit_by_setup ON audit (setup_id, at);
