-- The latest Verify run of each setup (offline and online checks, as JSON).
CREATE TABLE verifications (
    setup_id   TEXT PRIMARY KEY REFERENCES setups(id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    user_name  TEXT NOT NULL,
    results    TEXT NOT NULL
);
