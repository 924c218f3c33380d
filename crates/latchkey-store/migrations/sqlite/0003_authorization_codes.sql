-- Authorization codes of the OAuth authorization-code grant: single use, short-lived,
-- bound to client, redirect URI and PKCE challenge; stored only as hashes.
CREATE TABLE authorization_codes (
    code_hash      TEXT    NOT NULL PRIMARY KEY,
    tenant_id      TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    client_id      TEXT    NOT NULL,
    session_id     TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    redirect_uri   TEXT    NOT NULL,
    code_challenge TEXT,
    scope          TEXT    NOT NULL,
    nonce          TEXT,
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL,
    used_at        BIGINT
);

CREATE INDEX authorization_codes_session ON authorization_codes (session_id);
