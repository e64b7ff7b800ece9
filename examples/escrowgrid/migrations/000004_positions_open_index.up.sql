-- pgkeeper:no-transaction
-- Built concurrently so that writes to positions continue meanwhile; that cannot run in a
-- transaction, hence the directive above (golang-migrate runs a one-statement file as is).
CREATE INDEX CONCURRENTLY IF NOT EXISTS positions_open_idx ON positions (state)
    WHERE state NOT IN ('released', 'refunded', 'cancelled');
