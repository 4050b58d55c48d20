"""HTTPS for the web server: the SSL context from a configured certificate and key, and what
turning TLS on changes for the browser (HSTS, Secure cookies).

Design note: ``web.tls_cert`` and ``web.tls_key`` are given together or not at all; both
empty means plain HTTP (behind a reverse proxy that terminates TLS, say). The context is a
server context with TLS 1.2 as the floor and Python's default ciphers; the certificate file may
hold the whole chain (leaf first). A file that is missing, unreadable, not PEM, or a key that
does not match the certificate is a ``TlsConfigError`` naming the setting and the path, raised
at start-up, not at the first handshake. With TLS on, every response carries
``Strict-Transport-Security`` and the session cookie is ``Secure`` (the cookie already follows
``request.secure`` when ``cookie_secure`` is None; ``cookie_secure`` makes it explicit).
"""

from __future__ import annotations

import ssl
from pathlib import Path

__all__ = [
    "HSTS_VALUE",
    "TlsConfigError",
    "cookie_secure",
    "security_headers",
    "server_ssl_context",
    "ssl_context_from",
]

HSTS_VALUE = "max-age=31536000; includeSubDomains"  # one year, as browsers' preload lists ask


class TlsConfigError(ValueError):
    """The certificate or key settings cannot give a working HTTPS server."""


def _readable(path: str, setting: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise TlsConfigError(f"{setting}: {path!r} is not a readable file")
    try:
        with p.open("rb"):
            pass
    except OSError as exc:
        raise TlsConfigError(f"{setting}: {path!r}: {exc.strerror}") from None
    return p


def server_ssl_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A server-side SSL context serving ``cert_file`` (PEM, chain allowed) with ``key_file``."""
    cert = _readable(cert_file, "web.tls_cert")
    key = _readable(key_file, "web.tls_key")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION
    try:
        context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    except ssl.SSLError as exc:
        raise TlsConfigError(
            f"web.tls_cert {cert_file!r} / web.tls_key {key_file!r}: cannot be used together "
            f"({exc.reason or exc})") from None
    except OSError as exc:
        raise TlsConfigError(f"web.tls_cert / web.tls_key: {exc}") from None
    return context


def ssl_context_from(cert_file: str | None, key_file: str | None) -> ssl.SSLContext | None:
    """The context for the configured pair; None when TLS is off (both empty)."""
    if not cert_file and not key_file:
        return None
    if not cert_file or not key_file:
        missing = "web.tls_cert" if not cert_file else "web.tls_key"
        raise TlsConfigError(f"{missing} is missing: give web.tls_cert and web.tls_key together")
    return server_ssl_context(cert_file, key_file)


def security_headers(tls: bool) -> dict[str, str]:
    """Headers every response gets because of TLS (for ``WebSecuritySettings.extra_headers``)."""
    return {"Strict-Transport-Security": HSTS_VALUE} if tls else {}


def cookie_secure(tls: bool, configured: bool) -> bool | None:
    """``WebSecuritySettings.cookie_secure``: True with TLS or when configured, else None
    (Secure then follows the request's scheme, e.g. HTTPS at a reverse proxy)."""
    return True if tls or configured else None
