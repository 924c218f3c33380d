-- Groups and projects of a tenant (issue 4).
--
-- A group's and a project's members are memberships: the foreign keys on
-- (tenant_id, account_id) go to `memberships`, so an account that leaves the tenant
-- (removed, pruned, its tenant or account deleted) leaves its groups and projects in
-- the same statement. Restoring a pruned member does not bring them back.
CREATE TABLE tenant_groups (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX tenant_groups_name_unique ON tenant_groups (tenant_id, name);
-- (id, tenant_id) is referenced below so that rows cannot pair a group with another
-- tenant's members.
CREATE UNIQUE INDEX tenant_groups_id_tenant ON tenant_groups (id, tenant_id);

CREATE TABLE group_members (
    group_id   TEXT COLLATE "C" NOT NULL,
    tenant_id  TEXT COLLATE "C" NOT NULL,
    account_id TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, account_id),
    FOREIGN KEY (group_id, tenant_id) REFERENCES tenant_groups (id, tenant_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, account_id) REFERENCES memberships (tenant_id, account_id) ON DELETE CASCADE
);
CREATE INDEX group_members_member ON group_members (tenant_id, account_id);

-- Roles of the tenant a group grants to its members.
CREATE TABLE group_roles (
    group_id  TEXT COLLATE "C" NOT NULL,
    tenant_id TEXT COLLATE "C" NOT NULL,
    role      TEXT NOT NULL,
    PRIMARY KEY (group_id, role),
    FOREIGN KEY (group_id, tenant_id) REFERENCES tenant_groups (id, tenant_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, role) REFERENCES roles (tenant_id, name) ON DELETE CASCADE
);

-- No foreign key on owner_id: it records who created the project, even after they left.
CREATE TABLE projects (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    title       TEXT   NOT NULL,
    description TEXT   NOT NULL,
    owner_id    TEXT COLLATE "C",
    created_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX projects_id_tenant ON projects (id, tenant_id);
CREATE INDEX projects_tenant ON projects (tenant_id, id);

CREATE TABLE project_account_members (
    project_id TEXT COLLATE "C" NOT NULL,
    tenant_id  TEXT COLLATE "C" NOT NULL,
    account_id TEXT COLLATE "C" NOT NULL,
    role       TEXT   NOT NULL CHECK (role IN ('reader', 'member', 'admin')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, account_id),
    FOREIGN KEY (project_id, tenant_id) REFERENCES projects (id, tenant_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, account_id) REFERENCES memberships (tenant_id, account_id) ON DELETE CASCADE
);
CREATE INDEX project_account_members_member ON project_account_members (tenant_id, account_id);

CREATE TABLE project_group_members (
    project_id TEXT COLLATE "C" NOT NULL,
    tenant_id  TEXT COLLATE "C" NOT NULL,
    group_id   TEXT COLLATE "C" NOT NULL,
    role       TEXT   NOT NULL CHECK (role IN ('reader', 'member', 'admin')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, group_id),
    FOREIGN KEY (project_id, tenant_id) REFERENCES projects (id, tenant_id) ON DELETE CASCADE,
    FOREIGN KEY (group_id, tenant_id) REFERENCES tenant_groups (id, tenant_id) ON DELETE CASCADE
);
CREATE INDEX project_group_members_group ON project_group_members (group_id);
