-- pgkeeper:no-transaction
DROP INDEX CONCURRENTLY IF EXISTS positions_open_idx;
