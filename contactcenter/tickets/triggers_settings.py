"""The ``tickets.triggers:`` settings: how often time automations are looked at, and how
webhook calls are sent and retried (docs/tickets.md, "Triggers and automations").

Example::

    tickets:
      triggers:
        check_s: 300            # time automations are looked at least this often
        scan_max: 10000         # tickets looked at per pass and per dry run (newest first)
        webhook_max_attempts: 6
        webhook_retry_s: 30     # doubled after every failed try
        webhook_timeout_s: 10
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TriggerSettings:
    """Time automations' sweep and webhook delivery."""

    check_s: float = 300.0
    scan_max: int = 10_000
    webhook_max_attempts: int = 6
    webhook_retry_s: float = 30.0
    webhook_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if not 0.01 <= self.check_s <= 86400:
            raise ValueError("tickets.triggers.check_s must be 0.01..86400")
        if not 1 <= self.scan_max <= 1_000_000:
            raise ValueError("tickets.triggers.scan_max must be 1..1000000")
        if not 1 <= self.webhook_max_attempts <= 50:
            raise ValueError("tickets.triggers.webhook_max_attempts must be 1..50")
        if not 0.001 <= self.webhook_retry_s <= 86400:
            raise ValueError("tickets.triggers.webhook_retry_s must be 0.001..86400")
        if not 0.1 <= self.webhook_timeout_s <= 300:
            raise ValueError("tickets.triggers.webhook_timeout_s must be 0.1..300")
