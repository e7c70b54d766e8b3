-- When the watch last told anyone about a setup (a change of state or the
-- daily digest of a state that stays bad), so that repeats wait a day.
ALTER TABLE watches ADD COLUMN told_at BIGINT;
