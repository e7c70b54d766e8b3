-- Which arrangement of answers on pages a setup was stored in: a build that
-- moves answers between pages upgrades setups below its own layout at start.
ALTER TABLE setups ADD COLUMN layout INTEGER NOT NULL DEFAULT 1;
