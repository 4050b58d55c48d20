"""The engine's refusals, shared by the state table, the engine and the service."""

from __future__ import annotations


class RoutingError(Exception):
    """Base of the engine's refusals."""


class NotFound(RoutingError, LookupError):
    """Unknown interaction, offer, agent or queue."""


class Conflict(RoutingError):
    """The operation is not allowed in the current state."""
