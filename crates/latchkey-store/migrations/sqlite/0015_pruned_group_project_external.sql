-- A pruned member keeps its place in the tenant's groups and projects, and a pruned
-- account its external authentications (still sealed), beside their tombstones: a
-- restore brings them back as they were. Removing the membership cascades the live
-- rows away; these copies go when the tombstone is purged or restored, or with the
-- group, project or tenant they name.
CREATE TABLE pruned_group_members (
    group_id   TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    account_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, account_id),
    FOREIGN KEY (group_id, tenant_id) REFERENCES tenant_groups (id, tenant_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, account_id) REFERENCES pruned_memberships (tenant_id, account_id) ON DELETE CASCADE
);
CREATE INDEX pruned_group_members_member ON pruned_group_members (tenant_id, account_id);

CREATE TABLE pruned_project_account_members (
    project_id TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    account_id TEXT NOT NULL,
    role       TEXT   NOT NULL CHECK (role IN ('reader', 'member', 'admin')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, account_id),
    FOREIGN KEY (project_id, tenant_id) REFERENCES projects (id, tenant_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, account_id) REFERENCES pruned_memberships (tenant_id, account_id) ON DELETE CASCADE
);
CREATE INDEX pruned_project_account_members_member
    ON pruned_project_account_members (tenant_id, account_id);

CREATE TABLE pruned_external_authentications (
    tenant_id              TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    account_id             TEXT NOT NULL REFERENCES pruned_accounts (id) ON DELETE CASCADE,
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
CREATE INDEX pruned_external_authentications_account
    ON pruned_external_authentications (account_id);
