"""Checking what an admin uploads (a flow, a queue as YAML) without stalling the server.

Design note: parsing and checking a document is plain CPU work in the caller's thread. On the
event loop, a quarter of a megabyte of YAML takes about two seconds, during which no call is
routed, no AMI event read and ``/api/health`` does not answer (an AMI link was once declared
dead that way). ``check_off_loop`` runs such work in a worker thread instead, and gives up
waiting after ``timeout`` seconds with a 422 naming the limit: the upload is refused and
nothing is saved. A thread cannot be stopped, so the work itself must be bounded too (the
routes cap the size, the YAML loader refuses aliases); the time limit only keeps the admin's
request, and the lock behind it, from hanging on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from aiohttp import web

from contactcenter.web.security import json_error

T = TypeVar("T")

CHECK_TIMEOUT = 10.0


async def check_off_loop(fn: Callable[..., T], *args: object,
                         timeout: float = CHECK_TIMEOUT) -> T:
    """``fn(*args)`` in a worker thread; 422 when it takes longer than ``timeout`` seconds.

    Real seconds, not the Clock's: they bound CPU work, which an accelerated clock does not
    make any faster.
    """
    try:
        return await asyncio.wait_for(asyncio.to_thread(fn, *args), timeout)
    except TimeoutError:
        raise json_error(
            web.HTTPUnprocessableEntity,
            f"the document could not be checked within {timeout:g} s: nothing was saved",
        ) from None
