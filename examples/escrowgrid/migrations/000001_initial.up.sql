-- escrowgrid: a tokenization-as-a-service ledger.
-- Institutions issue assets from templates; holders take positions in assets; every
-- position moves through escrow states, and each move is recorded twice: as a
-- position_event (the position's own history) and as a ledger_event (the ledger).

CREATE TABLE institutions (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    regions     text[] NOT NULL DEFAULT '{}',
    verticals   text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE asset_templates (
    id              text PRIMARY KEY,
    institution_id  text NOT NULL REFERENCES institutions (id),
    code            text NOT NULL,
    name            text NOT NULL,
    vertical        text NOT NULL,
    region          text NOT NULL,
    config          jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (institution_id, code)
);
CREATE INDEX asset_templates_institution_created_idx ON asset_templates (institution_id, created_at);

CREATE TABLE assets (
    id              text PRIMARY KEY,
    institution_id  text NOT NULL REFERENCES institutions (id),
    template_id     text NOT NULL REFERENCES asset_templates (id),
    label           text NOT NULL,
    metadata        jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assets_institution_created_idx ON assets (institution_id, created_at);
CREATE INDEX assets_template_id_idx ON assets (template_id);

CREATE TABLE positions (
    id                  text PRIMARY KEY,
    institution_id      text NOT NULL REFERENCES institutions (id),
    asset_id            text NOT NULL REFERENCES assets (id),
    holder_reference    text NOT NULL,
    currency            text NOT NULL,
    amount              numeric(20, 4) NOT NULL,
    state               text NOT NULL,
    external_reference  text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX positions_institution_created_idx ON positions (institution_id, created_at);
CREATE INDEX positions_asset_id_idx ON positions (asset_id);

CREATE TABLE position_events (
    id           text PRIMARY KEY,
    position_id  text NOT NULL REFERENCES positions (id),
    from_state   text,
    to_state     text NOT NULL,
    reason       text,
    at           timestamptz NOT NULL DEFAULT now(),
    metadata     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX position_events_position_id_idx ON position_events (position_id);

CREATE TABLE ledger_events (
    id              text PRIMARY KEY,
    kind            text NOT NULL,
    position_id     text REFERENCES positions (id),
    at              timestamptz NOT NULL DEFAULT now(),
    previous_state  text,
    new_state       text,
    payload         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX ledger_events_position_id_idx ON ledger_events (position_id);
CREATE INDEX ledger_events_at_idx ON ledger_events (at);

CREATE TABLE api_keys (
    id              text PRIMARY KEY,
    institution_id  text NOT NULL REFERENCES institutions (id),
    key_hash        text NOT NULL UNIQUE,
    label           text NOT NULL,
    role            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);
CREATE INDEX api_keys_institution_created_idx ON api_keys (institution_id, created_at);

CREATE TABLE audit_events (
    id              text PRIMARY KEY,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    api_key_id      text,
    institution_id  text,
    method          text NOT NULL,
    path            text NOT NULL,
    action          text NOT NULL,
    resource_type   text,
    resource_id     text,
    payload         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_institution_occurred_idx ON audit_events (institution_id, occurred_at);
CREATE INDEX audit_events_occurred_idx ON audit_events (occurred_at);

CREATE TABLE institution_policies (
    id              text PRIMARY KEY,
    institution_id  text NOT NULL REFERENCES institutions (id),
    region          text NOT NULL,
    config          jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (institution_id, region)
);
CREATE INDEX institution_policies_institution_created_idx ON institution_policies (institution_id, created_at);
