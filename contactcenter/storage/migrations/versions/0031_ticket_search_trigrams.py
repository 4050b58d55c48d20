"""add trigram indexes on tickets' subject and requester: ticket search on PostgreSQL

PostgreSQL only: the list's text search (``q=``, a substring of the subject, the requester's
address or name, ``tickets/store.py``) read every ticket, about 2-10 s at a million tickets
(``bench/tickets.py``). Three GIN indexes of the pg_trgm extension (trusted: a database owner
may create it) find the matching tickets instead; the store's query keeps the three ``ILIKE``s
in one ``OR`` so that they combine as a bitmap. SQLite needs nothing (nothing changes there).
The same DDL as ``tickets/tables.py`` ``POSTGRESQL_TRIGRAM_DDL`` (this copy must not import it:
a revision stays as it was written).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

COLUMNS = ("subject", "requester_email", "requester_name")
# One statement: the extension (trusted, so a database owner may create it) and the indexes.
POSTGRESQL_DDL = """DO $$
DECLARE
    home text;
BEGIN
    -- The extension's operator class is looked up by schema: installed into public (not the
    -- first schema of the search path, which may be one a test drops), or where it already is.
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        BEGIN
            CREATE EXTENSION pg_trgm SCHEMA public;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- made at the same moment by another migration
        WHEN insufficient_privilege THEN
            -- A user who may not create it: search still works, unindexed (docs/tickets.md).
            RAISE NOTICE 'pg_trgm could not be created: ticket search stays unindexed';
            RETURN;
        END;
    END IF;
    SELECT n.nspname INTO home FROM pg_extension e
        JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';
    EXECUTE format('CREATE INDEX dx_tickets_subject_trgm ON tickets '
                   'USING gin (subject %I.gin_trgm_ops)', home);
    EXECUTE format('CREATE INDEX dx_tickets_requester_email_trgm ON tickets '
                   'USING gin (requester_email %I.gin_trgm_ops)', home);
    EXECUTE format('CREATE INDEX dx_tickets_requester_name_trgm ON tickets '
                   'USING gin (requester_name %I.gin_trgm_ops)', home);
END
$$"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRESQL_DDL)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for c in reversed(COLUMNS):
            op.execute(f"DROP INDEX dx_tickets_{c}_trgm")
