-- Impersonation tokens: a tenant administrator (issued_by) mints a short-lived,
-- single-use token that opens a session as one member (account_id) of the tenant. Only
-- the token's SHA-256 hash is kept; used_at marks it spent. Tokens go with their tenant
-- and their member; housekeeping deletes expired ones.
CREATE TABLE impersonation_tokens (
    token_hash TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    issued_by  TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX impersonation_tokens_account ON impersonation_tokens (account_id);
CREATE INDEX impersonation_tokens_tenant ON impersonation_tokens (tenant_id);
CREATE INDEX impersonation_tokens_expires ON impersonation_tokens (expires_at);
-- Which of an account's tenants have an application (the Cloudspot "module"): looked up
-- by client id across tenants.
CREATE INDEX applications_client_id ON applications (client_id);
