-- Tombstones of a dormant-account prune (`users prune`), kept for the retention period
-- so that `users restore` can bring the accounts back, then purged by housekeeping.
--
-- A pruned membership moves out of `memberships` into `pruned_memberships`; an account
-- left without any membership moves out of `accounts` into `pruned_accounts` (with its
-- authenticator). Moving rather than flagging keeps every other query as it is: a
-- pruned account cannot sign in, is in no list, and its email and username are free to
-- register again, because it simply is not in `accounts` any more. Sessions are not
-- kept: a prune ends them.
CREATE TABLE pruned_accounts (
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
    last_login_at  BIGINT,
    pruned_at      BIGINT  NOT NULL,
    pruned_by      TEXT
);
CREATE INDEX pruned_accounts_pruned_at ON pruned_accounts (pruned_at);

CREATE TABLE pruned_account_mfa (
    account_id    TEXT   NOT NULL PRIMARY KEY REFERENCES pruned_accounts (id) ON DELETE CASCADE,
    sealed_secret BLOB   NOT NULL,
    created_at    BIGINT NOT NULL,
    confirmed_at  BIGINT,
    last_step     BIGINT
);

CREATE TABLE pruned_mfa_recovery_codes (
    account_id TEXT   NOT NULL REFERENCES pruned_account_mfa (account_id) ON DELETE CASCADE,
    code_hash  TEXT   NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (account_id, code_hash)
);

-- No foreign key on account_id: the account is in `accounts` (it belongs to other
-- tenants too) or in `pruned_accounts`.
CREATE TABLE pruned_memberships (
    tenant_id  TEXT   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id TEXT   NOT NULL,
    role       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    pruned_at  BIGINT NOT NULL,
    pruned_by  TEXT,
    PRIMARY KEY (tenant_id, account_id)
);
CREATE INDEX pruned_memberships_account ON pruned_memberships (account_id);
CREATE INDEX pruned_memberships_pruned_at ON pruned_memberships (pruned_at);
