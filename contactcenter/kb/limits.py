"""What an anonymous client may add to the knowledge base's tables: votes and content gaps.

Design note: the help center's "was this helpful?" votes and the content gaps recorded from
searches are rows anyone may cause, so each client (an IPv4 address, an IPv6 /64: one host's
share) is held to two rules, decided in memory with no await between the check and the
count, so concurrent requests cannot all pass:

- **dedupe**: one vote per client and article (a second answer replaces the first, as a
  change of mind), and one count per client, locale and query for a gap, for ``MEMORY``
  seconds;
- **rate**: at most ``votes_per_hour`` new votes and ``gaps_per_hour`` new gap counts per
  client in any hour. A vote over the limit is refused (429); a gap over it is not recorded
  (the search still answers).

Both tables of keys are capped (oldest forgotten first), so a flood of addresses costs a
bounded amount of memory. A restart forgets them: they hold back floods, not history. No
address is written to the database.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict

from contactcenter.common.sliding_window import SlidingWindow

MEMORY = 24 * 3600.0  # how long a vote or a gap is remembered per client
WINDOW = 3600.0  # the rate limits' window
MAX_KEYS = 100_000
PENDING = 0  # a vote being written: its row id is not known yet


def client_key(remote: str | None) -> str:
    """The key an anonymous request is counted under: its address, an IPv6 one by /64."""
    try:
        address = ipaddress.ip_address((remote or "").split("%")[0])
    except ValueError:
        return f"ip:{remote or '?'}"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"ip:{address.ipv4_mapped}"
        return f"ip:{ipaddress.IPv6Network((address, 64), strict=False)}"
    return f"ip:{address}"


class Remembered:
    """Keys seen in the last ``memory`` seconds, each with a value."""

    def __init__(self, memory: float = MEMORY, max_keys: int = MAX_KEYS) -> None:
        self.memory, self.max_keys = memory, max_keys
        self._seen: OrderedDict[tuple[object, ...], tuple[float, int]] = OrderedDict()

    def get(self, key: tuple[object, ...], now: float) -> int | None:
        found = self._seen.get(key)
        if found is None:
            return None
        if found[0] <= now - self.memory:
            del self._seen[key]
            return None
        return found[1]

    def put(self, key: tuple[object, ...], value: int, now: float) -> None:
        self._seen[key] = (now, value)
        self._seen.move_to_end(key)
        while len(self._seen) > self.max_keys:
            self._seen.popitem(last=False)

    def forget(self, key: tuple[object, ...]) -> None:
        self._seen.pop(key, None)


class PublicLimits:
    """The votes and gaps of each client (``client_key``)."""

    def __init__(self, votes_per_hour: int, gaps_per_hour: int) -> None:
        self.votes = SlidingWindow(votes_per_hour, WINDOW, MAX_KEYS)
        self.gaps = SlidingWindow(gaps_per_hour, WINDOW, MAX_KEYS)
        self._voted = Remembered()
        self._gapped = Remembered()

    def vote(self, client: str, article_id: int, now: float) -> tuple[int | None, float]:
        """(the row of this client's earlier vote on the article, or None; the wait).

        A vote with no earlier one is counted against the rate and, when allowed (wait 0),
        reserved at once (``PENDING``), so a concurrent second one finds it; ``voted`` then
        names its row. A reserved vote whose row is not written yet answers ``PENDING``."""
        earlier = self._voted.get((client, article_id), now)
        if earlier is not None:
            return earlier, 0.0
        wait = self.votes.hit(client, now)
        if wait <= 0:
            self._voted.put((client, article_id), PENDING, now)
        return None, wait

    def voted(self, client: str, article_id: int, row_id: int, now: float) -> None:
        """The row the client's vote on the article was written to."""
        self._voted.put((client, article_id), row_id, now)

    def unreserve(self, client: str, article_id: int) -> None:
        """The reserved vote was not written (the article vanished)."""
        self._voted.forget((client, article_id))

    def gap(self, client: str, locale: str, query: str, now: float) -> bool:
        """Whether to count this search as a gap: not the same client's same search again,
        nor over its rate."""
        key = (client, locale, query)
        if self._gapped.get(key, now) is not None:
            return False
        if self.gaps.hit(client, now) > 0:
            return False
        self._gapped.put(key, 1, now)
        return True
