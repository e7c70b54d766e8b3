-- A customer groups its setups (issue 23: a landscape of test, quality and
-- production systems). Every existing setup becomes the one setup of a
-- customer of the same name, so nothing is lost and nothing is merged.
CREATE TABLE customers (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
ALTER TABLE setups ADD COLUMN customer_id TEXT REFERENCES customers(id);
INSERT INTO customers (id, name, created_at) SELECT 'c' || id, name, created_at FROM setups;
UPDATE setups SET customer_id = 'c' || id;
CREATE INDEX setups_by_customer ON setups (customer_id);
