"""One PBX's AMI link and call model wired together, and a pool of them for the composition root.

Design note
-----------
``PbxLink`` = one ``AmiClient`` + one ``CallModel``. Every AMI event goes to the model first
(so the model is current when other consumers see the event), then to extra raw-event
subscribers (recording, monitoring services that want AMI fields). After every login the link
resyncs: ``model.begin_resync()``, CoreShowChannels + BridgeList, ``model.reconcile()``. If the
snapshot cannot be taken (timeout, error), the link is dropped and the client reconnects,
because a model that missed events and was never reconciled would be silently wrong.
``AmiPool`` only holds links by PBX name and starts/stops them together.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from contactcenter.domain.clock import Clock
from contactcenter.telephony import events as ev
from contactcenter.telephony.ami import actions
from contactcenter.telephony.ami.client import (
    AmiActionError,
    AmiClient,
    AmiEndpoint,
    EventCallback,
    LinkState,
)
from contactcenter.telephony.ami.protocol import AmiMessage
from contactcenter.telephony.callmodel import CallModel
from contactcenter.telephony.callmodel_state import Snapshot

__all__ = ["AmiPool", "PbxLink"]

log = logging.getLogger(__name__)


class PbxLink:
    """An AMI client feeding a call model, with resync after every (re)connect."""

    def __init__(
        self,
        endpoint: AmiEndpoint,
        clock: Clock | None = None,
        subscribers: Iterable[ev.Subscriber] = (),
        ami_subscribers: Iterable[EventCallback] = (),
        resync_timeout: float = 10.0,
    ) -> None:
        self.clock = clock or Clock()
        self.model = CallModel(endpoint.name, subscribers, self.clock)
        # Raw-event subscribers with the event names each wants (None: all), and per event
        # name the callbacks that want it, in subscription order: an event nobody asked for
        # costs one dict lookup.
        self._ami_subs: list[tuple[EventCallback, frozenset[str] | None]] = [
            (fn, None) for fn in ami_subscribers]
        self._routes: dict[str | None, tuple[EventCallback, ...]] = {}
        self.resync_timeout = resync_timeout
        self.resyncs = 0
        self._resynced = asyncio.Event()
        self.client = AmiClient(
            endpoint,
            clock=self.clock,
            on_event=self._on_event,
            on_connected=self._resync,
            on_link_state=self._on_link_state,
        )

    @property
    def name(self) -> str:
        """The PBX name."""
        return self.client.name

    @property
    def link(self) -> LinkState:
        """The AMI link state (for /api/health)."""
        return self.client.link

    def subscribe_ami(self, fn: EventCallback,
                      events: Iterable[str] | None = None) -> Callable[[], None]:
        """Also receive raw AMI events ``fn(pbx, msg)``, after the model has applied them;
        only those named in ``events`` when given."""
        entry = (fn, None if events is None else frozenset(events))
        self._ami_subs.append(entry)
        self._routes.clear()

        def unsubscribe() -> None:
            if entry in self._ami_subs:
                self._ami_subs.remove(entry)
                self._routes.clear()

        return unsubscribe

    def _route(self, event: str | None) -> tuple[EventCallback, ...]:
        if len(self._routes) > 1000:  # event names are a small set; a rogue peer stays bounded
            self._routes.clear()
        route = tuple(fn for fn, names in self._ami_subs
                      if names is None or (event is not None and event in names))
        self._routes[event] = route
        return route

    def subscribe(self, fn: ev.Subscriber) -> Callable[[], None]:
        """Receive typed telephony events from the model (only the types it declares with
        ``callmodel_core.listens_to``, if it does)."""
        return self.model.subscribe(fn)

    async def start(self) -> None:
        """Start connecting in the background."""
        await self.client.start()

    async def stop(self) -> None:
        """Log off and stop."""
        await self.client.stop()

    async def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait (real seconds) until connected and resynced."""
        async with asyncio.timeout(timeout):
            await self._resynced.wait()

    async def send_action(
        self, headers: Iterable[tuple[str, str]], timeout: float = 5.0
    ) -> AmiMessage:
        """Send an action on this PBX's link (see ``AmiClient.send_action``)."""
        return await self.client.send_action(headers, timeout)

    async def send_list_action(
        self, headers: Iterable[tuple[str, str]], timeout: float = 10.0
    ) -> list[AmiMessage]:
        """Send a list action on this PBX's link (see ``AmiClient.send_list_action``)."""
        return await self.client.send_list_action(headers, timeout)

    def _on_event(self, pbx: str, msg: AmiMessage) -> None:
        event = msg.event
        self.model.apply(msg, event or "")
        route = self._routes.get(event)
        if route is None:
            route = self._route(event)
        for fn in route:
            try:
                fn(pbx, msg)
            except Exception:
                log.exception("AMI %s: subscriber %r failed", pbx, fn)

    def _on_link_state(self, state: LinkState) -> None:
        if state.state != "connected":
            self._resynced.clear()
            self.model.abort_resync()
        self.model.publish(
            ev.LinkStateChanged(state.name, state.state, state.since, state.reconnects,
                                state.last_error)
        )

    async def _resync(self, client: AmiClient) -> None:
        self.model.begin_resync()
        try:
            chans = await client.send_list_action(
                actions.CoreShowChannels(), timeout=self.resync_timeout
            )
            bridges = await client.send_list_action(
                actions.BridgeList(), timeout=self.resync_timeout
            )
        except (AmiActionError, TimeoutError) as exc:
            self.model.abort_resync()
            log.warning("AMI %s: resync failed (%s); reconnecting", self.name, exc)
            client.drop_connection(f"resync failed: {exc}")
            return
        except (ConnectionError, asyncio.CancelledError):
            self.model.abort_resync()
            raise
        result = self.model.reconcile(Snapshot.from_messages(chans, bridges))
        self.resyncs += 1
        log.info("AMI %s: resynced (%d channels, %d added, %d ended)", self.name,
                 result.channels, result.added, result.ended)
        self._resynced.set()


class AmiPool:
    """The PBX links of one server process, by name."""

    def __init__(self, links: Iterable[PbxLink] = ()) -> None:
        self.links: dict[str, PbxLink] = {}
        for link in links:
            self.add(link)

    def add(self, link: PbxLink) -> None:
        """Register a link (before or after start)."""
        if link.name in self.links:
            raise ValueError(f"duplicate PBX name {link.name!r}")
        self.links[link.name] = link

    def __getitem__(self, name: str) -> PbxLink:
        return self.links[name]

    def __iter__(self):
        return iter(self.links.values())

    def __len__(self) -> int:
        return len(self.links)

    def preferred(self) -> PbxLink:
        """The link for work that may go to any PBX (a callback, a spy leg with no call's PBX
        to follow): the first one connected, else the first one (LookupError if none)."""
        for link in self.links.values():
            if link.link.state == "connected":
                return link
        for link in self.links.values():
            return link
        raise LookupError("no PBX link configured")

    def for_pbx(self, pbx: str) -> PbxLink:
        """The link of PBX ``pbx``; the preferred one when no PBX is named."""
        return self.links[pbx] if pbx else self.preferred()

    def link_of(self, pbx: str) -> PbxLink | None:
        """The link of PBX ``pbx`` (None when there is no such link)."""
        return self.links.get(pbx)

    def model_of(self, pbx: str) -> CallModel | None:
        """The call model of PBX ``pbx`` (None when there is no such link)."""
        link = self.links.get(pbx)
        return link.model if link is not None else None

    def pbx_of(self, uniqueid: str) -> str:
        """The PBX whose call model has channel ``uniqueid`` (else the first PBX, else "")."""
        for link in self.links.values():
            if link.model.channel(uniqueid) is not None:
                return link.name
        return next(iter(self.links), "")

    def live_channels(self) -> list[str]:
        """The uniqueid of every channel every PBX's call model shows now."""
        return [uid for link in self.links.values() for uid in link.model.channels]

    def all_resynced(self, now_resyncing: str = "") -> bool:
        """Every link is connected and has resynced (``now_resyncing``: the PBX whose resync
        is being announced, which counts it only after its subscribers ran)."""
        return all(link.link.state == "connected" and (link.resyncs or link.name == now_resyncing)
                   for link in self.links.values())

    async def start(self) -> None:
        """Start every link."""
        for link in self.links.values():
            await link.start()

    async def stop(self) -> None:
        """Stop every link."""
        await asyncio.gather(*(link.stop() for link in self.links.values()),
                             return_exceptions=True)

    def health(self) -> list[LinkState]:
        """Link states for /api/health."""
        return [link.link for link in self.links.values()]
