"""make usernames case-insensitive (stored lowercase)

A login as ``VICTIM`` used to be another user than ``victim`` while the lockout counter took
them as one, so one could reset the other's failures (issue 20, item 4). From this revision on
a username is stored in lowercase and looked up that way (``web/users.py``); this revision
lowercases the usernames already stored (ASCII letters only: usernames are ASCII). Two users
whose names differ only in case cannot both keep their name: the upgrade then stops, changing
nothing, and names them, so that an admin renames or removes one first. The unique index on
``users.username`` is kept, and now holds case-insensitively.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_USERS = sa.table("users", sa.column("id", sa.Integer), sa.column("username", sa.String))


def lowered(name: str) -> str:
    """``name`` with its ASCII letters in lowercase (what ``web.users.username_key`` does)."""
    return name.lower() if name.isascii() else name


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(_USERS.c.id, _USERS.c.username).order_by(_USERS.c.id)).all()
    by_key: dict[str, list[tuple[int, str]]] = {}
    for user_id, name in rows:
        by_key.setdefault(lowered(name), []).append((user_id, name))
    clashes = sorted(users for users in by_key.values() if len(users) > 1)
    if clashes:
        listed = "; ".join(" and ".join(f"{name!r} (id {user_id})" for user_id, name in users)
                           for users in clashes)
        raise RuntimeError(
            f"usernames become case-insensitive, and these users differ only in case: {listed}. "
            "Nothing was changed. Rename one of each in the users table (UPDATE users SET "
            "username = '<new name>' WHERE id = <id>), then run 'contactcenter db upgrade' again")
    for user_id, name in rows:
        if lowered(name) != name:
            bind.execute(sa.update(_USERS).where(_USERS.c.id == user_id)
                         .values(username=lowered(name)))


def downgrade() -> None:
    pass  # the original case is not kept: lowercase names work on the older release too
