"""Users' own phone (monitoring dial string): validated, stored, and added to older databases
(by the migrations, ``storage/schema.py``)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from contactcenter.storage.database import Database
from contactcenter.storage.schema import upgrade
from contactcenter.web.users import UserError, UserStore

BAD_PHONES = [
    "PJSIP/2001\r\nAction: Command",  # CR/LF: would break the AMI frame
    "PJSIP/2001\x00",
    "PJSIP/2001,60",  # a comma would add Dial/Originate options
    "PJSIP/2001&PJSIP/2002",  # '&' would ring two devices
    "PJSIP/2001 x",
    "2001",  # no technology
    "",
]


async def test_phone_is_a_single_device_dial_string(database):
    store = UserStore(database)
    sup = await store.create_user("sup", "x", "supervisor", None, 0.0, phone="Local/2001@agents")
    assert sup.phone == "Local/2001@agents" and sup.agent_id is None
    for bad in BAD_PHONES[:-1]:
        with pytest.raises(UserError, match="phone"):
            await store.create_user("other", "x", "supervisor", None, 0.0, phone=bad)
        with pytest.raises(UserError, match="phone"):
            await store.update_user(sup.id, 1.0, phone=bad)
    assert (await store.get(sup.id)).phone == "Local/2001@agents"  # nothing half-changed
    assert (await store.update_user(sup.id, 2.0, phone="PJSIP/2002")).phone == "PJSIP/2002"
    assert (await store.update_user(sup.id, 3.0, role="admin")).phone == "PJSIP/2002"  # kept
    assert (await store.update_user(sup.id, 4.0, phone="")).phone is None  # "" clears it
    assert await store.get_by_username("other") is None


async def test_an_older_users_table_gets_the_phone_column(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.sqlite3'}"
    old = Database(url)
    async with old.engine.begin() as conn:  # the users table as the first release created it
        await conn.execute(sa.text(
            "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, username VARCHAR(64) UNIQUE,"
            " password_hash VARCHAR(255), role VARCHAR(20), agent_id VARCHAR(64), disabled BOOLEAN,"
            " created_at FLOAT, updated_at FLOAT)"))
        await conn.execute(sa.text(
            "INSERT INTO users (username, password_hash, role, agent_id, disabled, created_at,"
            " updated_at) VALUES ('ann', 'h', 'supervisor', '1010', 0, 0, 0)"))
    await old.close()

    db = Database(url)
    try:
        await upgrade(db)  # revision 0001 adopts the table made before migrations
        await upgrade(db)  # a second run finds it at head and leaves it alone
        store = UserStore(db)
        ann = await store.get_by_username("ann")
        assert ann is not None and ann.agent_id == "1010" and ann.phone is None
        assert (await store.update_user(ann.id, 1.0, phone="PJSIP/2001")).phone == "PJSIP/2001"
        assert (await store.credentials("ann"))[1] == "h"
    finally:
        await db.close()
