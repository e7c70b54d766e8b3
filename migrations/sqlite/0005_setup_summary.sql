-- What the setups list shows and searches, kept beside each setup so the
-- list is one indexed query instead of every setup in memory. An empty
-- status means "not summarised yet" (filled in at start after upgrading).
ALTER TABLE setups ADD COLUMN s4_host TEXT NOT NULL DEFAULT '';
ALTER TABLE setups ADD COLUMN status TEXT NOT NULL DEFAULT '';
ALTER TABLE setups ADD COLUMN done_pages INTEGER NOT NULL DEFAULT 0;
ALTER TABLE setups ADD COLUMN total_pages INTEGER NOT NULL DEFAULT 0;
CREATE INDEX setups_by_change ON setups (archived, updated_at DESC, id DESC);
CREATE INDEX setups_by_owner ON setups (owner_id);
CREATE INDEX setups_by_status ON setups (archived, status, updated_at DESC, id DESC);
CREATE INDEX setup_members_by_user ON setup_members (user_id);
-- Bumped by every change of a setup (answers, outcomes, members, name), so
-- an instance can tell that its cached copy is stale.
ALTER TABLE setups ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
