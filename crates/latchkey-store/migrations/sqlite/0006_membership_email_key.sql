-- A tenant's member list is ordered by email and paged by keyset. With the sort key only
-- on accounts, every page sorted all of the tenant's members (seconds at a million).
-- Memberships carry a copy of their account's email_key, kept equal by the store (set on
-- insert, rewritten when the email changes), and an index that yields the members of a
-- tenant already in order.
ALTER TABLE memberships ADD COLUMN email_key TEXT NOT NULL DEFAULT '';
UPDATE memberships
SET email_key = (SELECT a.email_key FROM accounts a WHERE a.id = memberships.account_id);
CREATE INDEX memberships_tenant_email ON memberships (tenant_id, email_key);
