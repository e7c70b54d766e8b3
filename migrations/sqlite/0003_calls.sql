-- Outbound SAP calls per setup and step (never secrets), and the outcome of
-- each step's SAP check: `problem` (from 0001) holds a failure, `checked_note`
-- a success, `checked_at` when it ran.
CREATE TABLE calls (
    id          INTEGER PRIMARY KEY,
    setup_id    TEXT NOT NULL REFERENCES setups(id) ON DELETE CASCADE,
    page        TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    at          INTEGER NOT NULL,
    method      TEXT NOT NULL,
    url         TEXT NOT NULL,
    status      INTEGER,
    duration_ms INTEGER NOT NULL,
    outcome     TEXT NOT NULL
);
CREATE INDEX calls_by_setup ON calls (setup_id, at);

ALTER TABLE answers ADD COLUMN checked_note TEXT;
ALTER TABLE answers ADD COLUMN checked_at INTEGER;
