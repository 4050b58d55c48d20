"""Channel flags, and waiting for the first of several flags or a timeout without extra tasks.

Design note: every channel owner waits for "the channel is asked to hang up, or some time has
passed" (ringing, talking, the pause before AGI, an AGI command's playback...). Done with
``asyncio.Event`` that took a task per flag and per timer, joined by ``asyncio.wait``, and
cancelled afterwards: about a dozen tasks per simulated call. A ``Flag`` has the interface of
``asyncio.Event`` and lets ``wait_any`` hang one future on several flags and one timer handle.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence


class Flag:
    """``asyncio.Event``'s interface (``set``, ``clear``, ``is_set``, ``wait``) for ``wait_any``."""

    __slots__ = ("_value", "_waiters")

    def __init__(self) -> None:
        self._value = False
        self._waiters: list[asyncio.Future[bool]] = []

    def is_set(self) -> bool:
        """True once set (until cleared)."""
        return self._value

    def set(self) -> None:
        """Set the flag and wake every waiter (they return even if it is cleared meanwhile)."""
        if not self._value:
            self._value = True
            waiters, self._waiters = self._waiters, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(True)

    def clear(self) -> None:
        """Unset the flag."""
        self._value = False

    async def wait(self) -> bool:
        """Until the flag is set; True, like ``asyncio.Event.wait``."""
        if self._value:
            return True
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        finally:
            self._forget(fut)
        return True

    def when_set(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run ``callback`` from the event loop once the flag is set (a watcher without a task
        of its own); returns the function that stops watching."""
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        if self._value:
            fut.set_result(True)
        else:
            self._waiters.append(fut)
        fut.add_done_callback(lambda f: None if f.cancelled() else callback())

        def stop() -> None:
            fut.cancel()
            self._forget(fut)

        return stop

    def _forget(self, fut: asyncio.Future[bool]) -> None:
        try:
            self._waiters.remove(fut)
        except ValueError:  # set() already took it
            pass


def _expire(fut: asyncio.Future[bool]) -> None:
    if not fut.done():
        fut.set_result(False)


async def wait_any(flags: Sequence[Flag], timeout: float | None = None) -> bool:
    """Until one of ``flags`` is set (True) or ``timeout`` real seconds pass (False).

    With a flag already set it still lets the event loop run once, as a wait always did.
    """
    if any(f.is_set() for f in flags):
        await asyncio.sleep(0)
        return True
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[bool] = loop.create_future()
    for f in flags:
        f._waiters.append(fut)
    timer = loop.call_later(timeout, _expire, fut) if timeout is not None else None
    try:
        return await fut
    finally:
        if timer is not None:
            timer.cancel()
        for f in flags:
            f._forget(fut)
