-- Latchkey schema, version 1 (SQLite). Keep in step with ../postgres/0001_initial.sql.
-- Timestamps are unix milliseconds; JSON documents are TEXT.

CREATE TABLE tenants (
    id              TEXT    NOT NULL PRIMARY KEY,
    domain          TEXT    NOT NULL,
    title           TEXT    NOT NULL,
    metadata        TEXT    NOT NULL,
    password_policy TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL
);
CREATE UNIQUE INDEX tenants_domain_unique ON tenants (domain);

CREATE TABLE roles (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    permissions TEXT    NOT NULL,
    builtin     BOOLEAN NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE accounts (
    id             TEXT    NOT NULL PRIMARY KEY,
    email          TEXT    NOT NULL,
    email_key      TEXT    NOT NULL,
    username       TEXT,
    username_key   TEXT,
    display_name   TEXT,
    custom_data    TEXT    NOT NULL,
    platform_admin BOOLEAN NOT NULL,
    disabled       BOOLEAN NOT NULL,
    password_hash  TEXT,
    created_at     BIGINT  NOT NULL,
    last_login_at  BIGINT
);
CREATE UNIQUE INDEX accounts_email_key_unique ON accounts (email_key);
CREATE UNIQUE INDEX accounts_username_key_unique ON accounts (username_key);

CREATE TABLE memberships (
    tenant_id  TEXT   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id TEXT   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, account_id)
);
CREATE INDEX memberships_account ON memberships (account_id);

CREATE TABLE sessions (
    id           TEXT   NOT NULL PRIMARY KEY,
    account_id   TEXT   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    tenant_id    TEXT   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    user_agent   TEXT,
    ip_address   TEXT
);
CREATE INDEX sessions_tenant_account ON sessions (tenant_id, account_id);
-- Deleting an account cascades here; without this index that is a full scan.
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT   NOT NULL PRIMARY KEY,
    session_id TEXT   NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated_at BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
    id                 TEXT   NOT NULL PRIMARY KEY,
    tenant_id          TEXT   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    algorithm          TEXT   NOT NULL,
    sealed_private_key BLOB   NOT NULL,
    public_key_der     BLOB   NOT NULL,
    status             TEXT   NOT NULL CHECK (status IN ('active', 'previous', 'retired')),
    created_at         BIGINT NOT NULL
);
CREATE INDEX signing_keys_tenant ON signing_keys (tenant_id, status);
-- At most one active key per tenant: two nodes racing to create the first key conflict
-- instead of both publishing one.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (tenant_id) WHERE status = 'active';

CREATE TABLE login_throttles (
    login_key       TEXT   NOT NULL PRIMARY KEY,
    failures        BIGINT NOT NULL,
    last_failure_at BIGINT,
    locked_until    BIGINT
);

-- No foreign key on tenant_id: the log outlives a deleted tenant.
CREATE TABLE audit_events (
    id        TEXT   NOT NULL PRIMARY KEY,
    tenant_id TEXT,
    actor     TEXT,
    action    TEXT   NOT NULL,
    target    TEXT,
    outcome   TEXT   NOT NULL,
    detail    TEXT   NOT NULL,
    at        BIGINT NOT NULL
);
CREATE INDEX audit_events_tenant_at ON audit_events (tenant_id, at, id);
