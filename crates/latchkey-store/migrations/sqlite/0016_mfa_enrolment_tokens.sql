-- Enrolment tokens: a member of a tenant that requires multi-factor authentication who
-- signs in with the right password but has no active authenticator gets one of these
-- instead of a session. It only lets the account enrol an authenticator and, with the
-- first code, open a session in that tenant. Only the token's SHA-256 hash is kept;
-- confirming deletes the account's tokens; housekeeping deletes expired ones.
CREATE TABLE mfa_enrolment_tokens (
    token_hash TEXT   NOT NULL PRIMARY KEY,
    account_id TEXT   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    tenant_id  TEXT   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX mfa_enrolment_tokens_account ON mfa_enrolment_tokens (account_id);
CREATE INDEX mfa_enrolment_tokens_tenant ON mfa_enrolment_tokens (tenant_id);
CREATE INDEX mfa_enrolment_tokens_expires ON mfa_enrolment_tokens (expires_at);
