-- Grants: long-lived refresh tokens an account (or an administrator for it) creates for
-- itself (`kind = 'user'`) or for an application of the tenant (`kind = 'service'`).
-- A grant IS a session (so revoking or deleting the session revokes the grant, and the
-- session listing, the purge and tenant/account deletion cover it); this table holds
-- what only grants have, keyed by the session. A side table rather than nullable columns
-- on `sessions` keeps the hot session row (read on every request) as it was.
-- `permissions` is a JSON array of project permissions the grant is restricted to, or
-- NULL for an unrestricted grant. `for_client_id` names the application of a service
-- grant (the session's `client_id` binds the refresh token to it).
CREATE TABLE session_grants (
    session_id    TEXT NOT NULL PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    for_client_id TEXT,
    permissions   TEXT
);

-- External authentications: an account's identity and credentials at another service
-- (Salesforce, Microsoft Exchange, ...). One per account and service within a tenant,
-- and one account per (tenant, service, service_user), so an external identity signs in
-- to exactly one account. Tokens and secrets are sealed (AEAD) by the server, bound to
-- their row; the store never sees them in clear.
CREATE TABLE external_authentications (
    tenant_id              TEXT   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id             TEXT   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    service                TEXT   NOT NULL,
    service_user           TEXT   NOT NULL,
    sealed_access_token    BLOB   NOT NULL,
    access_token_expires   BIGINT,
    sealed_access_secret   BLOB,
    access_secret_expires  BIGINT,
    display_name           TEXT,
    state                  TEXT,
    created_at             BIGINT NOT NULL,
    updated_at             BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, account_id, service)
);
CREATE UNIQUE INDEX external_authentications_service_identity
    ON external_authentications (tenant_id, service, service_user);
CREATE INDEX external_authentications_account ON external_authentications (account_id);
