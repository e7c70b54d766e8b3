-- The watch after handover (issue 22): per watched setup its interval, the
-- next due time (so a restart keeps the schedule), the webhook (encrypted)
-- and the state of its last run; and each run with its checks and drift.
CREATE TABLE watches (
    setup_id      TEXT PRIMARY KEY REFERENCES setups(id) ON DELETE CASCADE,
    interval_secs INTEGER NOT NULL,
    next_due      INTEGER NOT NULL,
    webhook       TEXT,
    state         TEXT NOT NULL,
    changed_at    INTEGER,
    last_run      INTEGER
);
CREATE INDEX watches_by_due ON watches (next_due);
CREATE TABLE watch_runs (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    setup_id TEXT NOT NULL REFERENCES setups(id) ON DELETE CASCADE,
    at       INTEGER NOT NULL,
    state    TEXT NOT NULL,
    checks   TEXT NOT NULL,
    drift    TEXT NOT NULL
);
CREATE INDEX watch_runs_by_setup ON watch_runs (setup_id, at);
