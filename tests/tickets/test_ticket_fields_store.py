"""Custom fields, followers and the stale-view check on each database (SQLite, and PostgreSQL
when CC_TEST_POSTGRES_URL is set): values stored with their history, the list's filters and
search in SQL, the required-on-solve hook, a view's mark and what changed after it."""

from __future__ import annotations

import pytest

from contactcenter.domain.clock import Clock
from contactcenter.tickets.fields import FieldRefused, parse_field
from contactcenter.tickets.fields_service import TicketFields
from contactcenter.tickets.fields_store import FieldStore
from contactcenter.tickets.followers import EMAIL, Followers
from contactcenter.tickets.model import (
    NewTicket,
    Origin,
    Requester,
    Status,
    TicketChanges,
    Visibility,
)
from contactcenter.tickets.service import SYSTEM, TicketService, Who
from contactcenter.tickets.settings import TicketSettings
from contactcenter.tickets.store import TicketQuery, TicketStore
from contactcenter.tickets.view_mark import StaleView, mark_of

BOSS = Who("boss", staff=True)


async def test_fields_followers_and_view_marks_on_each_database(database):
    service = TicketService(TicketSettings(queue="email"), TicketStore(database), Clock())
    store = FieldStore(database)
    fields = TicketFields(service, store)
    service.on_solving = fields.solving
    followers = Followers(service)
    await store.set_types(("question", "incident"))
    for body in ({"key": "product", "kind": "dropdown", "options": ["Widget", "Gadget"],
                  "required_on_solve": True},
                 {"key": "units", "kind": "number"}, {"key": "note", "kind": "text"}):
        assert await store.save_field(parse_field(body), "root", 1.0, create=True)

    def new(subject: str) -> NewTicket:
        return NewTicket(subject, Origin.API, "email", Requester("zoe@customer.test", "Zoe"))

    one = await service.create(new("Printer"), SYSTEM)
    two = await service.create(new("Scanner"), SYSTEM)
    await fields.set(one.id, BOSS, {"product": "Widget", "units": 2.0, "note": "100% broken"},
                     "incident")
    await fields.set(two.id, BOSS, {"product": "Gadget", "units": 2})

    async def ids(**query) -> list[int]:
        found, _ = await service.store.query(TicketQuery(**query))
        return sorted(t.id for t in found)

    assert await ids(fields=(("units", "2"),)) == [one.id, two.id]
    assert await ids(fields=(("units", "2"), ("product", "Gadget"))) == [two.id]
    assert await ids(ticket_type="incident") == [one.id]
    assert await ids(text="100%") == [one.id]  # a LIKE wildcard is a plain character
    assert await ids(text="scan") == [two.id]

    # Solving needs the product: refused for a person, and once it is cleared.
    await fields.set(two.id, BOSS, {"product": None})
    with pytest.raises(FieldRefused, match="filled: product"):
        await service.update(two.id, TicketChanges(status=Status.SOLVED), BOSS)
    await service.update(one.id, TicketChanges(status=Status.SOLVED), BOSS)

    # A view's mark; a reply on it after a change is refused with what changed.
    async with database.session() as s:
        seen = await mark_of(s, two.id)
    await followers.follow(two.id, BOSS, EMAIL, "Carl@Customer.test")
    with pytest.raises(StaleView) as stale:
        await service.write(two.id, "Hello", BOSS, Visibility.INTERNAL, seen=seen)
    changes = stale.value.changes
    assert [h["field"] for h in changes["history"]] == ["follower"]
    await service.write(two.id, "Hello", BOSS, Visibility.INTERNAL,
                        seen=type(seen)(**changes["seen"]))
    history = [(c.field, c.old, c.new) for c in await service.store.history(two.id)]
    assert ("field:units", None, 2) in history and ("field:product", "Gadget", None) in history
    assert ("follower", None, "email:carl@customer.test") in history
