"""What an anonymous client may add: one vote per address and article (a second replaces the
first), a few new votes and content gaps per address and hour, the same search counted once;
over real sockets from several loopback addresses, and the rules themselves at given times."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from kb_support import SETTINGS

from contactcenter.kb.limits import MEMORY, WINDOW, PublicLimits, client_key
from contactcenter.kb.model import Audience, NewArticle, State
from contactcenter.kb.settings import KbSettings

LIMIT = 3


@pytest.fixture
def kb_settings() -> KbSettings:
    return dataclasses.replace(SETTINGS, votes_per_hour=LIMIT, gaps_per_hour=LIMIT)


async def _published(kb, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    return [(await kb.create("sup", NewArticle("en", f"Article number {i}", "Some text.",
                                               state=State.PUBLISHED))).id for i in range(n)]


async def test_a_visitor_votes_once_per_article_and_a_few_times_an_hour(kb_env):
    kb = kb_env.kb
    ids = await _published(kb, LIMIT + 1)
    slugs = [(await kb.get(i, Audience.PUBLIC)).slug for i in ids]
    anon = await kb_env.client()
    first = kb_env.url(f"/help/en/{slugs[0]}/feedback")
    for answer in ("yes", "yes", "yes", "no"):  # hammering one article: one vote, the last
        async with anon.post(first, data={"helpful": answer}, allow_redirects=False) as r:
            assert r.status == 303
    assert (await kb.feedback_counts(ids[0])).as_json() == {"helpful": 0, "not_helpful": 1}
    for slug in slugs[1:LIMIT]:
        async with anon.post(kb_env.url(f"/help/en/{slug}/feedback"), data={"helpful": "yes"},
                             allow_redirects=False) as r:
            assert r.status == 303
    # The address has used its hour: a vote on yet another article is refused and not counted.
    async with anon.post(kb_env.url(f"/help/en/{slugs[LIMIT]}/feedback"),
                         data={"helpful": "yes"}, allow_redirects=False) as r:
        assert r.status == 429
        assert int(r.headers["Retry-After"]) >= 1
        assert "Too many answers from your address" in await r.text()
        assert "script-src 'none'" in r.headers["Content-Security-Policy"]
    assert (await kb.feedback_counts(ids[LIMIT])).helpful == 0
    # Changing its mind on an article it already answered is still allowed.
    async with anon.post(first, data={"helpful": "yes"}, allow_redirects=False) as r:
        assert r.status == 303
    assert (await kb.feedback_counts(ids[0])).as_json() == {"helpful": 1, "not_helpful": 0}
    # Another address has an hour of its own.
    other = await kb_env.client(source="127.0.0.2")
    async with other.post(kb_env.url(f"/help/en/{slugs[LIMIT]}/feedback"),
                          data={"helpful": "yes"}, allow_redirects=False) as r:
        assert r.status == 303
    assert (await kb.feedback_counts(ids[LIMIT])).helpful == 1


async def test_concurrent_votes_of_one_visitor_count_once(kb_env):
    (article_id,) = await _published(kb_env.kb, 1)
    slug = (await kb_env.kb.get(article_id, Audience.PUBLIC)).slug
    anon = await kb_env.client()

    async def vote() -> int:
        async with anon.post(kb_env.url(f"/help/en/{slug}/feedback"), data={"helpful": "yes"},
                             allow_redirects=False) as r:
            return r.status

    assert set(await asyncio.gather(*(vote() for _ in range(10)))) == {303}
    assert (await kb_env.kb.feedback_counts(article_id)).helpful == 1


async def test_a_client_counts_a_gap_once_and_only_a_few_an_hour(kb_env):
    kb = kb_env.kb
    await _published(kb, 1)
    anon = await kb_env.client()
    for _ in range(5):  # the same search again and again: one count
        async with anon.get(kb_env.url("/help/en/search"), params={"q": "parking"}) as r:
            assert r.status == 200
    for i in range(10):  # many different ones: the first LIMIT - 1 after it only
        async with anon.get(kb_env.url("/api/help/search"), params={"q": f"zebra{i}"}) as r:
            assert r.status == 200 and (await r.json())["mode"] == "none"  # still answered
    gaps = {g.query: g.count for g in await kb.gaps()}
    assert gaps == {"parking": 1, "zebra0": 1, "zebra1": 1}
    # Another address, and a logged-in agent (counted by name), each count theirs.
    other = await kb_env.client(source="127.0.0.3")
    async with other.get(kb_env.url("/help/en/search"), params={"q": "parking"}) as r:
        assert r.status == 200
    agent = await kb_env.client("agent1")
    async with agent.get(kb_env.url("/api/kb/search"), params={"q": "parking"}) as r:
        assert r.status == 200
    async with agent.get(kb_env.url("/api/kb/search"), params={"q": "parking"}) as r:
        assert r.status == 200
    assert {g.query: g.count for g in await kb.gaps()}["parking"] == 3


def test_the_rules_at_given_times():
    limits = PublicLimits(votes_per_hour=2, gaps_per_hour=2)
    t = 1_000_000.0
    assert limits.vote("ip:a", 1, t) == (None, 0.0)
    assert limits.vote("ip:a", 1, t + 1) == (0, 0.0)  # reserved, its row not written yet
    limits.voted("ip:a", 1, 41, t + 1)
    assert limits.vote("ip:a", 1, t + 2) == (41, 0.0)  # the earlier vote's row: replace it
    assert limits.vote("ip:a", 2, t + 3) == (None, 0.0)
    earlier, wait = limits.vote("ip:a", 3, t + 4)
    assert earlier is None and wait == pytest.approx(WINDOW - 4)
    assert limits.vote("ip:a", 3, t + WINDOW + 1) == (None, 0.0)  # an hour later
    assert limits.vote("ip:a", 1, t + MEMORY + 2) == (None, 0.0)  # a day later: a new vote
    limits.unreserve("ip:a", 1)  # say its row could not be written
    assert limits.vote("ip:b", 1, t)[1] == 0.0
    assert [limits.gap("ip:a", "en", q, t) for q in ("x", "x", "y", "z")] == [
        True, False, True, False]
    assert limits.gap("ip:a", "fr", "x", t + WINDOW + 1)  # another locale, an hour later
    assert not limits.gap("ip:a", "en", "x", t + WINDOW + 2)  # still remembered that day
    assert limits.gap("ip:a", "en", "x", t + MEMORY + 1)


def test_a_client_is_its_address_and_an_ipv6_host_its_64():
    assert client_key("192.0.2.7") == "ip:192.0.2.7"
    assert client_key("::ffff:192.0.2.7") == "ip:192.0.2.7"
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") \
        == "ip:2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key(None) == "ip:?"
