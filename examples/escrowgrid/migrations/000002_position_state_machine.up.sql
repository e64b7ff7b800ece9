-- Positions follow an escrow state machine:
--   pending -> funded -> held -> released | refunded
--   held -> disputed -> released | refunded
--   pending -> cancelled
-- state_version counts the state changes; it equals the number of position_events of
-- the position, an invariant the workload generator and restore verification rely on.
--
-- positions is busy in production, so: a constant default (no table rewrite since
-- PostgreSQL 11), and the check constraint added NOT VALID, which is instant. The scan
-- that validates it runs in the next migration, after this one's lock is released.
ALTER TABLE positions ADD COLUMN state_version integer NOT NULL DEFAULT 0;
ALTER TABLE positions ADD CONSTRAINT positions_state_check
    CHECK (state IN ('pending', 'funded', 'held', 'disputed', 'released', 'refunded', 'cancelled')) NOT VALID;
