"""Tickets and the email channel (docs/tickets.md)."""
