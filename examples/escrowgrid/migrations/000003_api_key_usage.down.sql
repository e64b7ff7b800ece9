DROP INDEX ledger_events_at_idx;
DROP INDEX audit_events_occurred_idx;
ALTER TABLE api_keys DROP COLUMN last_used_at;
