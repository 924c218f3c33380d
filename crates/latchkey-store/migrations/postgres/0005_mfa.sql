-- Multi-factor authentication (TOTP, RFC 6238) and single-use recovery codes.
-- An account has at most one authenticator. `confirmed_at` is NULL while the enrolment
-- waits for its first code; `last_step` is the last time step accepted, so a code is
-- accepted at most once even when several nodes share the database (the acceptance is
-- a conditional UPDATE ... WHERE last_step < $step).
CREATE TABLE account_mfa (
    account_id    TEXT COLLATE "C" NOT NULL PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    sealed_secret BYTEA  NOT NULL,
    created_at    BIGINT NOT NULL,
    confirmed_at  BIGINT,
    last_step     BIGINT
);

-- Recovery codes, stored as SHA-256 hashes; they go with the authenticator.
CREATE TABLE mfa_recovery_codes (
    account_id TEXT COLLATE "C" NOT NULL REFERENCES account_mfa (account_id) ON DELETE CASCADE,
    code_hash  TEXT COLLATE "C" NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (account_id, code_hash)
);

-- A tenant may require every member to sign in with a second factor.
ALTER TABLE tenants ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;
