-- A tenant's member list is ordered by email and paged by keyset. With the sort key only
-- on accounts, every page sorted all of the tenant's members (seconds at a million).
-- Memberships carry a copy of their account's email_key, kept equal by the store (set on
-- insert, rewritten when the email changes), and an index that yields the members of a
-- tenant already in order.
ALTER TABLE memberships ADD COLUMN email_key TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE memberships m SET email_key = a.email_key FROM accounts a WHERE a.id = m.account_id;
-- New rows must say it; the default only served the rows above.
ALTER TABLE memberships ALTER COLUMN email_key DROP DEFAULT;
CREATE INDEX memberships_tenant_email ON memberships (tenant_id, email_key);
