"""``serve`` names the users a published demo password lets anyone log in as."""

from __future__ import annotations

import logging

from contactcenter.web.auth import hash_password
from contactcenter.web.demo_passwords import DEMO_PASSWORD, warn_about_demo_passwords
from contactcenter.web.users import UserStore


async def test_each_enabled_user_with_the_demo_password_gets_a_warning(database, caplog):
    store = UserStore(database)
    await store.create_user("admin", hash_password(DEMO_PASSWORD), "admin", None, 1.0)
    await store.create_user("alice", hash_password("alice's own password"), "agent", None, 1.0)
    gone = await store.create_user("old", hash_password(DEMO_PASSWORD), "agent", None, 1.0)
    await store.update_user(gone.id, 2.0, disabled=True)  # cannot log in: nothing to warn about
    with caplog.at_level(logging.WARNING, logger="contactcenter.web.demo_passwords"):
        names = await warn_about_demo_passwords(database)
    assert names == ["admin"]
    assert [(r.levelname, r.getMessage().split(" has ")[0]) for r in caplog.records] == [
        ("WARNING", "user admin")]
