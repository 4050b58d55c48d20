"""Alembic's environment: runs the migrations on the connection ``storage/schema.py`` hands over.

There is no ``alembic.ini`` and no URL here: ``schema.py`` opens the database the server would
open (same settings, same PostgreSQL ``search_path``), begins the one transaction every pending
migration runs in, and passes that connection in ``config.attributes``. The migrations never
import the models: a revision is the schema as it was when it was written, not as it is now.
"""

from __future__ import annotations

from alembic import context

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the migrations with 'contactcenter db upgrade' (or "
                       "contactcenter.storage.schema.upgrade), not with the alembic command")

context.configure(
    connection=connection,
    # SQLite cannot alter most of a table in place: batch mode copies it into a new one.
    render_as_batch=True,
    on_version_apply=config.attributes.get("on_version_apply", ()),
    transactional_ddl=config.attributes.get("transactional_ddl"),
)
with context.begin_transaction():
    context.run_migrations()
