-- Which arrangement of answers on pages a setup was stored in: a build that
-- moves answers between pages upgrades setups below its own layout at start.
ALTER TABLE setups ADD COLUMN layout INTEGER NOT NULL DEFAULT 1;
-- Start-up looks for setups below the current layout: an index, not a scan.
CREATE INDEX setups_by_layout ON setups (layout);
