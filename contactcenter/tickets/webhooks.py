"""Webhook calls of triggers: signed JSON POSTs sent from ``ticket_webhooks`` rows, retried with
backoff, every attempt's outcome stored (the delivery log).

Design note: a trigger queues its call in the same transaction as the change that fired it;
this task sends it afterwards, so a call survives a restart and a slow receiver never holds up
a ticket's change. The body is signed with the trigger's secret: ``X-CC-Signature:
sha256=<hex HMAC-SHA256 of the exact body bytes>``; ``X-CC-Timestamp`` (epoch seconds of this
attempt) and ``X-CC-Delivery`` (the delivery's id, the same on every retry: the receiver's key
against a duplicate after a crash between its answer and our write) go with it. 2xx is
delivered; 408, 429, 5xx and connection trouble are retried after ``retry_s``, doubled each
time, up to ``max_attempts``; any other answer fails it at once. Redirects are not followed
(the URL was checked when saved, its target was not).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging

import aiohttp

from contactcenter.common.tasks import stop_gracefully
from contactcenter.domain.clock import Clock
from contactcenter.tickets.triggers_settings import TriggerSettings
from contactcenter.tickets.triggers_store import Delivery, TriggerStore

log = logging.getLogger(__name__)
IDLE_POLL_S = 60.0  # real seconds: a look at the queue even when nobody woke the sender
RETRIED = frozenset({408, 429})


def signature(secret: str, body: bytes) -> str:
    """The ``X-CC-Signature`` value of ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str) -> bool:
    """Whether ``header`` is the signature of ``body`` (constant time): the receiver's check."""
    return hmac.compare_digest(signature(secret, body), header)


def headers(secret: str, body: bytes, delivery_id: int, now: float) -> dict[str, str]:
    return {"Content-Type": "application/json", "User-Agent": "contactcenter-webhooks",
            "X-CC-Signature": signature(secret, body), "X-CC-Timestamp": str(int(now)),
            "X-CC-Delivery": str(delivery_id)}


def outcome(code: int | None, attempts: int, max_attempts: int) -> str:
    """``delivered``, ``queued`` (to be retried) or ``failed`` after an attempt answered
    ``code`` (None: no answer) as the ``attempts``-th."""
    if code is not None and 200 <= code < 300:
        return "delivered"
    retry = code is None or code >= 500 or code in RETRIED
    return "queued" if retry and attempts < max_attempts else "failed"


class WebhookSender:
    """Sends queued webhook calls (``wake()`` after queueing one)."""

    def __init__(self, store: TriggerStore, settings: TriggerSettings, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._http = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.settings.webhook_timeout_s))
        self._task = asyncio.create_task(self._run(), name="tickets-webhooks")

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        await stop_gracefully(self._task)
        self._task = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _run(self) -> None:
        while not self._closing:
            try:
                await self.send_due()
            except Exception:
                log.exception("tickets: webhook pass failed")
            wait = IDLE_POLL_S
            with contextlib.suppress(Exception):
                next_at = await self.store.next_webhook_at()
                if next_at is not None:
                    wait = min(wait, max(0.0, self.clock.real(next_at - self.clock.time())))
            if self._closing:
                break
            with contextlib.suppress(TimeoutError):  # asyncio.timeout: see outbox.py
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            self._wake.clear()

    async def send_due(self) -> int:
        """Make every call due now; returns how many were delivered."""
        delivered = 0
        while not self._closing:
            due = await self.store.due_webhooks(self.clock.time())
            if not due:
                break
            for delivery, secret in due:
                delivered += await self._send(delivery, secret)
        return delivered

    async def _send(self, delivery: Delivery, secret: str) -> int:
        assert self._http is not None
        body = delivery.body.encode()
        now = self.clock.time()
        code: int | None = None
        error: str | None = None
        try:
            async with self._http.post(delivery.url, data=body, allow_redirects=False,
                                       headers=headers(secret, body, delivery.id, now)) as r:
                code = r.status
                if not 200 <= code < 300:
                    error = f"HTTP {code}: {(await r.content.read(200)).decode(errors='replace')}"
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        attempts = delivery.attempts + 1
        status = outcome(code, attempts, self.settings.webhook_max_attempts)
        next_try = None
        if status == "queued":
            next_try = self.clock.time() + self.settings.webhook_retry_s * 2 ** (attempts - 1)
            log.info("tickets: webhook %d to %s: %s; try %d in %.0f s", delivery.id,
                     delivery.url, error, attempts + 1, next_try - self.clock.time())
        elif status == "failed":
            log.warning("tickets: webhook %d to %s failed: %s", delivery.id, delivery.url,
                        error)
        await self.store.webhook_tried(delivery.id, status, self.clock.time(), code=code,
                                       error=error, next_try_at=next_try)
        return int(status == "delivered")
