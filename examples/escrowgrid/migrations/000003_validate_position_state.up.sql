-- Validation scans positions under a SHARE UPDATE EXCLUSIVE lock: reads and writes go on.
ALTER TABLE positions VALIDATE CONSTRAINT positions_state_check;
