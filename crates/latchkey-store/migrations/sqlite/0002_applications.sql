-- OAuth clients of each tenant; every tenant gets the built-in public client admin-cli.
CREATE TABLE applications (
    tenant_id             TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    client_id             TEXT    NOT NULL,
    public                BOOLEAN NOT NULL,
    secret_hash           TEXT,
    grant_types           TEXT    NOT NULL,
    redirect_uris         TEXT    NOT NULL,
    roles                 TEXT    NOT NULL,
    access_token_lifetime BIGINT,
    builtin               BOOLEAN NOT NULL,
    created_at            BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, client_id)
);

INSERT INTO applications (tenant_id, client_id, public, secret_hash, grant_types, redirect_uris,
                          roles, access_token_lifetime, builtin, created_at)
SELECT id, 'admin-cli', TRUE, NULL, '["password","refresh_token"]', '[]', '[]', NULL, TRUE, created_at
FROM tenants;
