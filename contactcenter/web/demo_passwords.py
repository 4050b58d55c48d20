"""The demo's published password, and the check that ``serve`` does not run with it.

``contactcenter demo`` prints its users' password; a database that ever held them (an older
demo wrote to the server's own database, or someone copied the file) lets anyone in. This module
holds the constant so ``serve`` can look for it without importing the demo and its simulator.
"""

from __future__ import annotations

import asyncio
import logging

from contactcenter.storage.database import Database
from contactcenter.web.auth import verify_password
from contactcenter.web.users import UserStore

log = logging.getLogger(__name__)

DEMO_PASSWORD = "demo-password"  # demo users only; `contactcenter users add` for real ones
KNOWN_DEMO_PASSWORDS: tuple[str, ...] = (DEMO_PASSWORD,)


async def users_with_demo_password(store: UserStore) -> list[str]:
    """Enabled users whose password is a published demo one (disabled ones cannot log in)."""
    found = []
    for user in await store.list_users():
        if user.disabled:
            continue
        credentials = await store.credentials(user.username)
        if credentials is None:  # deleted since the listing
            continue
        for password in KNOWN_DEMO_PASSWORDS:
            # scrypt takes tens of milliseconds: off the loop, which is already serving calls.
            if await asyncio.to_thread(verify_password, password, credentials[1]):
                found.append(user.username)
                break
    return found


async def warn_about_demo_passwords(db: Database) -> list[str]:
    """Log a WARNING per user with a demo password; returns their names."""
    try:
        names = await users_with_demo_password(UserStore(db))
    except Exception:  # an advisory check: the server runs on, and says the check did not
        log.exception("could not check the users for demo passwords")
        return []
    for name in names:
        log.warning("user %s has the published demo password: anyone can log in as them; "
                    "set a new one with `contactcenter users passwd %s` or disable them",
                    name, name)
    return names
