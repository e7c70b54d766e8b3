-- Setups (one customer integration each) and the answers of their pages.
CREATE TABLE setups (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    archived    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- One row per saved page. `data` is a JSON object of answer key -> value;
-- secret values are ciphertext ("enc:v1:..."). `version` guards concurrent
-- saves; `basis` records the facts of other pages the answers were given for.
CREATE TABLE answers (
    setup_id    TEXT NOT NULL REFERENCES setups(id) ON DELETE CASCADE,
    page        TEXT NOT NULL,
    data        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    basis       TEXT NOT NULL,
    problem     TEXT,
    updated_at  INTEGER NOT NULL,
    updated_by  TEXT NOT NULL,
    PRIMARY KEY (setup_id, page)
);
