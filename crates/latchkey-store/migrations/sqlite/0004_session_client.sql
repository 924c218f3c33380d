-- Sessions remember the OAuth client they were opened for, so their refresh tokens can
-- only be used, revoked or logged out by that client (RFC 6749 §6, RFC 7009 §2.1).
-- Sessions from before this migration came from the native API.
ALTER TABLE sessions ADD COLUMN client_id TEXT NOT NULL DEFAULT 'latchkey-api';
