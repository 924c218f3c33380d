-- An account that a prune removes entirely takes its terms-of-use acceptances with it
-- (they cascade from `accounts`). They are kept here beside its tombstone, so that a
-- restore brings the account back without asking it to accept again; they go when the
-- tombstone is purged, or with the tenant or the version.
CREATE TABLE pruned_terms_acceptances (
    tenant_id   TEXT   NOT NULL,
    account_id  TEXT   NOT NULL REFERENCES pruned_accounts (id) ON DELETE CASCADE,
    version     BIGINT NOT NULL,
    accepted_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, account_id, version),
    FOREIGN KEY (tenant_id, version) REFERENCES terms_versions (tenant_id, version) ON DELETE CASCADE
);
