"""HTTPS from a configured certificate and key (contactcenter/web/tls.py), with a self-signed
certificate made here: the login works over TLS, the session cookie is Secure, every response
has HSTS, a plain-HTTP client gets no answer, and bad settings fail at start-up with the name
of the setting. The app is built like the server's (``add_auth`` with the settings TLS turns
on), and started on an ephemeral port with ``ssl_context=`` as app.py's TCPSite will be."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import time

import aiohttp
import pytest
from aiohttp import web

from contactcenter.domain.clock import Clock
from contactcenter.storage.audit import AuditLog
from contactcenter.web.auth import AUTH_KEY, add_auth, hash_password
from contactcenter.web.security import WebSecuritySettings
from contactcenter.web.tls import (
    HSTS_VALUE,
    TlsConfigError,
    cookie_secure,
    security_headers,
    ssl_context_from,
)

x509 = pytest.importorskip("cryptography.x509")
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PASSWORD = "tls test password"


def self_signed(folder, name: str = "cc") -> tuple[str, str]:
    """A certificate for 127.0.0.1 and localhost and its key, as PEM files in ``folder``."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "contactcenter test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


async def test_https_login_sets_a_secure_cookie_and_hsts(database, tmp_path):
    cert, key = self_signed(tmp_path)
    server_ctx = ssl_context_from(cert, key)
    assert server_ctx is not None
    settings = WebSecuritySettings(extra_headers=security_headers(True),
                                   cookie_secure=cookie_secure(True, False))
    app = web.Application()
    add_auth(app, database, settings, AuditLog(database), clock=Clock())
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    origin = f"https://127.0.0.1:{port}"
    await app[AUTH_KEY].store.create_user("tlsadmin", hash_password(PASSWORD), "admin", None,
                                          time.time())
    client_ctx = ssl.create_default_context(cafile=cert)  # trusts exactly our certificate
    try:
        async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=client_ctx), headers={"Origin": origin},
                cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(f"{origin}/api/login",
                                 json={"username": "tlsadmin", "password": PASSWORD}) as r:
                assert r.status == 200, await r.text()
                assert r.headers["Strict-Transport-Security"] == HSTS_VALUE
                cookie = r.cookies[settings.cookie_name]
                assert cookie["secure"] is True and cookie["httponly"] is True
            async with http.get(f"{origin}/api/session") as r:
                assert r.status == 200
                assert r.headers["Strict-Transport-Security"] == HSTS_VALUE
        # A client that does not trust the certificate is refused by its own check.
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await http.get(f"{origin}/api/health")
        # Plain HTTP on the TLS port gets no HTTP answer.
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/api/session") as r:
                    await r.read()
    finally:
        await runner.cleanup()


def test_tls_off_and_bad_settings(tmp_path):
    assert ssl_context_from(None, None) is None and ssl_context_from("", "") is None
    assert security_headers(False) == {} and cookie_secure(False, False) is None
    assert cookie_secure(False, True) is True
    cert, key = self_signed(tmp_path)
    other_cert, _ = self_signed(tmp_path, "other")
    (tmp_path / "junk.pem").write_text("not a certificate")
    for args, words in (
        ((cert, None), "web.tls_key is missing"),
        ((None, key), "web.tls_cert is missing"),
        ((str(tmp_path / "nope.crt"), key), "web.tls_cert"),
        ((cert, str(tmp_path / "nope.key")), "web.tls_key"),
        ((str(tmp_path / "junk.pem"), key), "cannot be used together"),
        ((other_cert, key), "cannot be used together"),  # a key that is not the cert's
    ):
        with pytest.raises(TlsConfigError, match=words):
            ssl_context_from(*args)


async def test_the_whole_server_serves_https_from_its_settings(tmp_path):
    from dataclasses import replace

    from floor import floor_settings, running_floor

    cert, key = self_signed(tmp_path)
    settings = floor_settings(tmp_path, 20.0)
    settings = replace(settings, web=replace(settings.web, tls_cert=cert, tls_key=key))
    trust = ssl.create_default_context(cafile=cert)
    async with running_floor(tmp_path, settings=settings) as floor:
        url = f"https://127.0.0.1:{floor.server.web_port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{url}/api/health", ssl=trust) as r:
                assert r.status == 200
                assert r.headers["Strict-Transport-Security"] == HSTS_VALUE
            with pytest.raises(aiohttp.ClientError):  # no plain HTTP on that port
                async with http.get(f"http://127.0.0.1:{floor.server.web_port}/api/health",
                                    timeout=aiohttp.ClientTimeout(total=5)) as r:
                    await r.read()
