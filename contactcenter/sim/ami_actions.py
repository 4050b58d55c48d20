"""What the simulated Asterisk answers to each AMI action (texts from the 01/05 transcripts).

Design note: one handler per action, grouped by module (session here; calls, listings and
recording beside it), each writing replies through ``session.send``. Errors use Asterisk's texts.
Before a handler runs, the dispatcher checks the user's write classes like manager.c does
(``ACTION_CLASSES``), and the per-content checks Asterisk makes before running anything that
could reach a shell (``privilege_refusal``), so a least-privilege user is refused here exactly
as a real Asterisk would refuse it.
"""

from __future__ import annotations

import logging
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


log = logging.getLogger(__name__)

# The write classes each action is registered with in Asterisk 22 (``ast_manager_register_xml``
# in main/manager.c, main/manager_bridges.c, apps/app_mixmonitor.c, apps/app_senddtmf.c,
# apps/app_queue.c, res/res_manager_devicestate.c). Holding any ONE of them is enough
# (manager.c: ``writeperm & authority``); an empty set means no class is needed.
ACTION_CLASSES: dict[str, frozenset[str]] = {
    name: frozenset(classes.split()) for name, classes in {
        "login": "", "logoff": "", "ping": "", "events": "", "challenge": "", "listcommands": "",
        "originate": "originate",
        "redirect": "call",
        "hangup": "system call",
        "getvar": "call reporting",
        "setvar": "call",
        "playdtmf": "call",
        "status": "system call reporting",
        "coreshowchannels": "system reporting",
        "corestatus": "system reporting",
        "bridgelist": "", "bridgeinfo": "",
        "queuestatus": "", "queuesummary": "",
        "devicestatelist": "call reporting",
        "command": "command",
        "showdialplan": "config reporting",
        "mixmonitor": "system",
        "mixmonitormute": "system call",
        "stopmixmonitor": "system call",
    }.items()
}


def _app_match(app: str, data: str, word: str) -> bool:
    return word in app.lower()


def _data_match(app: str, data: str, word: str) -> bool:
    return word in data  # case-sensitive, like strstr


def _queue_agi_match(app: str, data: str, word: str) -> bool:
    args = data.split(",")
    return word in app.lower() and len(args) > 5 and bool(args[5])  # Queue's AGI argument


# Originate's application and data checks (manager.c ``originate_app_permissions``): the
# first rule that matches decides, and the user needs one of its classes.
_ORIGINATE_RULES = [
    *((w, {"system"}, _app_match) for w in (
        "agi", "dbdeltree", "exec", "externalivr", "mixmonitor", "originate", "reload", "system")),
    ("queue", {"agi", "system"}, _queue_agi_match),
    *((w, {"system"}, _data_match) for w in (
        "CURL", "DB", "EVAL", "FILE", "ODBC", "REALTIME", "SHELL")),
]


def may_run(action: str, classes: frozenset[str]) -> bool:
    """True when a user with write ``classes`` may run ``action`` (unknown actions: no)."""
    needed = ACTION_CLASSES.get(action.lower())
    if needed is None:
        return False
    return not needed or "all" in classes or bool(needed & classes)


def privilege_refusal(msg: AmiMessage, classes: frozenset[str]) -> str | None:
    """Asterisk's error text when the request's content needs a class the user lacks."""
    if "all" in classes:
        return None
    action = (msg.get("Action") or "").lower()
    if action == "originate" and msg.get("Application"):
        app, data = msg.get("Application") or "", msg.get("Data") or ""
        for word, needed, match in _ORIGINATE_RULES:
            if match(app, data, word):
                if not needed & classes:
                    return "Originate Access Forbidden: app or data blacklisted"
                break
    if "system" in classes:
        return None
    # function_capable_string_allowed_with_auths: no SHELL() or EVAL() without system
    if action == "getvar" and _shell_capable(msg.get("Variable") or ""):
        return "GetVar Access Forbidden: Variable"
    if action == "status" and _shell_capable(msg.get("Variables") or ""):
        return "Status Access Forbidden: Variables"
    return None


def _shell_capable(text: str) -> bool:
    return "SHELL" in text or "EVAL" in text


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
        classes = self.pbx.config.write_classes(s.username or "")
        if not may_run(action, classes):
            if action.lower() not in ACTION_CLASSES:
                log.error("simulator: AMI action %s has no write class in ACTION_CLASSES "
                          "(contactcenter/sim/ami_actions.py); refused", action)
            s.send(reply(msg, "Error", ("Message", "Permission denied")))
            return
        refusal = privilege_refusal(msg, classes)
        if refusal is not None:
            s.send(reply(msg, "Error", ("Message", refusal)))
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
