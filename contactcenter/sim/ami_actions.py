"""What the simulated Asterisk answers to each AMI action (texts from the 01/05 transcripts).

Design note: one handler per action, grouped by module (session here; calls, listings and
recording beside it), each writing replies through ``session.send``. Errors use Asterisk's texts.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

from contactcenter.telephony.ami.protocol import AmiMessage

from .ami_base import ActionGroup, Handler, reply
from .ami_call_actions import CallActions
from .ami_media_actions import MediaActions
from .ami_status_actions import StatusActions
from .channels import Headers
from .events import timestamp
from .originate import Originator

if TYPE_CHECKING:
    from .ami_server import AmiSession
    from .dialplan import Dialplan


class AmiActions(ActionGroup):
    """Dispatches AMI actions against the simulated PBX; answers the session actions itself."""

    def __init__(
        self, dp: Dialplan, originator: Originator, users: dict[str, str], server_ref
    ) -> None:
        super().__init__(dp)
        self.originator = originator
        self.users = users
        self.server_ref = server_ref  # () -> AmiServer
        self.received: deque[AmiMessage] = deque(maxlen=5000)  # requests as read, for tests
        self.handlers: dict[str, Handler] = {}
        for group in (self, CallActions(dp, originator), StatusActions(dp), MediaActions(dp)):
            self.handlers.update(group.action_handlers())

    async def handle(self, s: AmiSession, msg: AmiMessage) -> None:
        """Answer one request."""
        action = msg.get("Action")
        self.received.append(msg)
        if not s.authenticated and (action or "").lower() not in ("login", "logoff"):
            s.send(reply(msg, "Error", ("Message", "Permission denied")))
            return
        if action is None:
            s.send(reply(msg, "Error", ("Message", "Missing action in request")))
            self._bad_format(s, "NONE")
            return
        handler = self.handlers.get(action.lower())
        if handler is None:
            text = f"Invalid/unknown command: {action}. Use Action: ListCommands to show available commands."
            s.send(reply(msg, "Error", ("Message", text)))
            self._bad_format(s, action)
            return
        await handler(s, msg)

    def _security(
        self,
        s: AmiSession,
        event: str,
        severity: str,
        version: str,
        tail: Headers,
        account: bool = True,
    ) -> Headers:
        now = self.clock.time()
        tv = (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
            + f".{int(now % 1 * 1000):03d}+0000"
        )
        head: Headers = [
            ("Event", event),
            ("Privilege", "security,all"),
            ("Timestamp", timestamp(self.clock)),
            ("EventTV", tv),
            ("Severity", severity),
            ("Service", "AMI"),
            ("EventVersion", version),
        ]
        return head + tail

    def _bad_format(self, s: AmiSession, action: str) -> None:
        s.send(
            self._security(
                s,
                "RequestBadFormat",
                "Error",
                "1",
                [
                    ("SessionID", s.session_id),
                    ("LocalAddress", s.local_address),
                    ("RemoteAddress", s.remote_address),
                    ("RequestType", f"Action: {action}"),
                    ("SessionTV", s.session_tv),
                    ("AccountID", s.username or ""),
                ],
            )
        )

    # -- session -------------------------------------------------------------------------
    async def do_login(self, s: AmiSession, msg: AmiMessage) -> None:
        user, secret = msg.get("Username") or "", msg.get("Secret") or ""
        if self.users.get(user) != secret or not user:
            for other in self.server_ref().others(s):
                other.send(
                    self._security(
                        other,
                        "InvalidPassword",
                        "Error",
                        "2",
                        [
                            ("AccountID", user),
                            ("SessionID", s.session_id),
                            ("LocalAddress", s.local_address),
                            ("RemoteAddress", s.remote_address),
                            ("SessionTV", "1970-01-01T00:00:00.000+0000"),
                        ],
                    )
                )
            await self.clock.sleep(self.pbx.config.bad_login_delay)
            s.send(reply(msg, "Error", ("Message", "Authentication failed")))
            s.close()
            return
        s.username = user
        s.events_on = (msg.get("Events") or "on").lower() not in ("off", "no", "false")
        uptime = str(int(self.clock.time() - self.pbx.started_at))
        s.send(reply(msg, "Success", ("Message", "Authentication accepted")))
        s.send(
            [
                ("Event", "FullyBooted"),
                ("Privilege", "system,all"),
                ("Uptime", uptime),
                ("LastReload", uptime),
                ("Status", "Fully Booted"),
            ]
        )
        auth = self._security(
            s,
            "SuccessfulAuth",
            "Informational",
            "1",
            [
                ("AccountID", user),
                ("SessionID", s.session_id),
                ("LocalAddress", s.local_address),
                ("RemoteAddress", s.remote_address),
                ("UsingPassword", "0"),
            ],
        )
        s.session_tv = dict(auth)["EventTV"]
        s.send(auth + [("SessionTV", s.session_tv)])
        s.subscribe()

    async def do_logoff(self, s: AmiSession, msg: AmiMessage) -> None:
        s.send(reply(msg, "Goodbye", ("Message", "Thanks for all the fish.")))
        s.close()

    async def do_ping(self, s: AmiSession, msg: AmiMessage) -> None:
        s.send(reply(msg, "Success", ("Ping", "Pong"), ("Timestamp", timestamp(self.clock))))

    async def do_events(self, s: AmiSession, msg: AmiMessage) -> None:
        mask = (msg.get("EventMask") or "on").lower()
        s.events_on = mask not in ("off", "no", "false", "none")
        if s.events_on:
            s.subscribe()
        elif s._unsubscribe is not None:
            s._unsubscribe()
            s._unsubscribe = None
        s.send(reply(msg, "Success", ("Events", "On" if s.events_on else "Off")))
