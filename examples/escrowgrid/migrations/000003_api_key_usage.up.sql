ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
CREATE INDEX audit_events_occurred_idx ON audit_events (occurred_at);
CREATE INDEX ledger_events_at_idx ON ledger_events (at);
