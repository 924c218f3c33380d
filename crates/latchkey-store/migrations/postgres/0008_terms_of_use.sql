-- Terms of use: versions a tenant publishes and members' acceptances. A version binds
-- from `enforce_date` on (unix milliseconds); versions only grow, and a member accepts
-- each at most once. Both go with their tenant; acceptances go with their account.
CREATE TABLE terms_versions (
    tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    version      BIGINT NOT NULL,
    public_url   TEXT   NOT NULL,
    enforce_date BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, version)
);

CREATE TABLE terms_acceptances (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    account_id  TEXT COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    version     BIGINT NOT NULL,
    accepted_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, account_id, version),
    FOREIGN KEY (tenant_id, version) REFERENCES terms_versions (tenant_id, version) ON DELETE CASCADE
);
