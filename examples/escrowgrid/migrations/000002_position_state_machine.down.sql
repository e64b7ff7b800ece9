ALTER TABLE positions DROP CONSTRAINT positions_state_check;
ALTER TABLE positions DROP COLUMN state_version;
