"""The server's settings as typed dataclasses, with the defaults of an embedded install."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from contactcenter.chat.settings import ChatSettings
from contactcenter.cluster.settings import ClusterSettings
from contactcenter.ivr.settings import IvrSettings
from contactcenter.kb.settings import KbSettings
from contactcenter.qa.settings import QaSettings
from contactcenter.reports.settings import ReportSettings
from contactcenter.tickets.settings import TicketSettings


def _check_port(port: int, what: str) -> None:
    if not 0 <= port <= 65535:
        raise ValueError(f"{what}: port {port} is outside 0..65535")


@dataclass(frozen=True)
class PbxSettings:
    """One Asterisk server reached over AMI."""

    name: str = "pbx1"
    host: str = "127.0.0.1"
    port: int = 5038
    username: str = "contactcenter"
    secret: str = ""

    def __post_init__(self) -> None:
        _check_port(self.port, f"asterisk {self.name}")
        if not self.name or any(c in self.name for c in "\r\n\0 /"):
            raise ValueError(f"asterisk name {self.name!r} must be a plain word")


@dataclass(frozen=True)
class FastAgiSettings:
    """The FastAGI listener Asterisk connects to."""

    host: str = "127.0.0.1"
    port: int = 4573
    allowed_networks: list[str] = field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])

    def __post_init__(self) -> None:
        _check_port(self.port, "fastagi")
        for net in self.allowed_networks:
            try:
                ipaddress.ip_network(net, strict=False)
            except ValueError:
                raise ValueError(f"fastagi.allowed_networks: {net!r} is not a network") from None


@dataclass(frozen=True)
class WebSettings:
    """The HTTP server for the API, panel, websockets and /metrics."""

    host: str = "127.0.0.1"
    port: int = 8080
    allowed_origins: list[str] = field(default_factory=list)
    secure_cookies: bool = False
    tls_cert: str = ""  # PEM certificate (chain allowed); with tls_key the server speaks HTTPS
    tls_key: str = ""  # PEM private key of tls_cert
    hsts: bool = True  # with TLS: Strict-Transport-Security on every response

    def __post_init__(self) -> None:
        _check_port(self.port, "web")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("web.tls_cert and web.tls_key go together")


@dataclass(frozen=True)
class DatabaseSettings:
    """Where state that must survive a restart lives."""

    url: str = "sqlite+aiosqlite:///var/contactcenter.sqlite3"

    def __post_init__(self) -> None:
        if "://" not in self.url:
            raise ValueError(f"database.url {self.url!r} is not a URL")


@dataclass(frozen=True)
class RoutingFiles:
    """Queue and agent definitions, kept in their own files."""

    queues_file: str = "config/queues.yaml"
    agents_file: str = "config/agents.yaml"


@dataclass(frozen=True)
class CrmSettings:
    """An HTTP CRM for IVR lookups (source ``crm``); empty URL = not configured."""

    url_template: str = ""  # e.g. https://crm.example/api/customers/{key}
    timeout_s: float = 2.0


@dataclass(frozen=True)
class SimulatorSettings:
    """The built-in PBX simulator used by ``contactcenter demo``."""

    # Only the demo's own server talks to the simulator, so any free port will do; a fixed
    # default would collide with a real Asterisk's AMI on 5038.
    ami_port: int = 0
    calls_per_minute: float = 12.0
    speed: float = 1.0
    # The demo's users have a published password: they must never land in the real database.
    database_url: str = "sqlite+aiosqlite:///var/demo.sqlite3"

    def __post_init__(self) -> None:
        _check_port(self.ami_port, "simulator.ami_port")
        if "://" not in self.database_url:
            raise ValueError(f"simulator.database_url {self.database_url!r} is not a URL")


@dataclass(frozen=True)
class Settings:
    """Everything ``contactcenter serve`` needs; relative paths are resolved against ``base_dir``."""

    asterisk: list[PbxSettings] = field(default_factory=list)
    fastagi: FastAgiSettings = field(default_factory=FastAgiSettings)
    web: WebSettings = field(default_factory=WebSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    routing: RoutingFiles = field(default_factory=RoutingFiles)
    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)
    ivr: IvrSettings = field(default_factory=IvrSettings)
    crm: CrmSettings = field(default_factory=CrmSettings)
    chat: ChatSettings = field(default_factory=ChatSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)
    qa: QaSettings = field(default_factory=QaSettings)
    kb: KbSettings = field(default_factory=KbSettings)
    tickets: TicketSettings = field(default_factory=TicketSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    flows_dir: str = "ivr_flows"
    recordings_dir: str = "recordings"
    log_level: str = "INFO"
    base_dir: str = "."

    def __post_init__(self) -> None:
        names = [p.name for p in self.asterisk]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"asterisk: duplicate PBX name(s) {', '.join(dupes)}")
        if self.cluster.enabled and not self.database.url.startswith("postgresql"):
            raise ValueError("cluster.enabled needs a PostgreSQL database.url (the leader's "
                             "lock and term live there)")
        if self.log_level.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError(f"log_level {self.log_level!r} is not DEBUG/INFO/WARNING/ERROR")
