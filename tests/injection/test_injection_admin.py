"""No payload runs in the admin console or the wallboard (Chromium).

An anonymous client (from another loopback address, so the admin's own login is not rate
limited with it) tries to log in with every payload a login takes as its username: each failure
is an audit row the admin console lists. An admin describes a skill with each payload and
renames agent a1 with one; the console's routing tables and the supervisor's wallboard show
them. In the console's flow editor the admin validates a flow whose node types, prompts and
targets are payloads: the errors quote them. Every page shows the markers as text, and nothing
ran or became markup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from corpus import PAYLOADS, Payload, quick
from page_checks import assert_inert, open_page
from playwright.async_api import expect
from text_floor import T, panel_user, text_floor
from tickets_floor import PASSWORD, TicketsFloor

MS = int(T * 1000)
REPO = Path(__file__).resolve().parents[2]
ATTACKER = "127.0.0.2"  # a login limit counts per address too
AUDIT_SHOWN = 20  # the newest failures checked on the console (it lists the last 50 rows)


def _loginable(p: Payload) -> bool:
    """A login refuses CR, LF, NUL and text that is not UTF-8 before it looks the name up."""
    return p.utf8 and not any(c in p.text for c in "\r\n\x00")


def _flow(payloads: list[Payload]) -> str:
    """A flow whose nodes have payloads for type, prompt and next node."""
    nodes = {f"n{i}": {"type": p.upto(200), "prompt": p.upto(200), "next": p.upto(64)}
             for i, p in enumerate(payloads)}
    return yaml.safe_dump({"name": "inj", "entry": "n0", "nodes": nodes}, allow_unicode=False,
                          width=1000)


async def _failed_logins(floor: TicketsFloor, payloads: list[Payload]) -> list[Payload]:
    """The payloads whose login was refused as wrong (401), each an audit row."""
    refused = []
    connector = aiohttp.TCPConnector(local_addr=(ATTACKER, 0))
    async with aiohttp.ClientSession(connector=connector, headers={"Origin": floor.url}) as http:
        for p in filter(_loginable, payloads):
            async with http.post(f"{floor.url}/api/login",
                                 json={"username": p.upto(64), "password": "x"}) as r:
                assert r.status in (401, 429), (p.name, r.status, await r.text())
                if r.status == 401:
                    refused.append(p)
    assert refused
    return refused


async def _routing(floor: TicketsFloor, payloads: list[Payload]) -> tuple[list[Payload], Payload]:
    """A skill described by each payload a description takes (those returned: CR, LF and NUL
    are refused); agent a1 renamed with one (returned too)."""
    admin = await panel_user(floor, "inj-root", "admin")
    described = []
    for i, p in enumerate(filter(lambda p: p.utf8, payloads)):
        async with admin.post(f"{floor.url}/api/admin/skills", json={
                "name": f"inj{i}", "document": {"description": p.upto(200)}}) as r:
            assert r.status in (201, 422), (p.name, r.status, await r.text())
            if r.status == 201:
                described.append(p)
            else:
                assert "contains CR, LF or NUL" in await r.text(), p.name
    named = next(p for p in payloads if p.kind == "html")
    async with admin.get(f"{floor.url}/api/admin/agents/a1") as r:
        entry = await r.json()
    document = {**entry["document"], "name": named.upto(100)}
    async with admin.put(f"{floor.url}/api/admin/agents/a1", json={
            "document": document, "version": entry["version"]}) as r:
        assert r.status == 200, await r.text()
    return described, named


async def _run(browser: Any, tmp_path: Any, payloads: list[Payload]) -> None:
    async with text_floor(tmp_path) as floor:
        described, named = await _routing(floor, payloads)
        refused = await _failed_logins(floor, payloads)

        admin, admin_dialogs = await open_page(browser, floor.url, "inj-root", PASSWORD,
                                               "/admin", MS)
        audit = admin.locator("#audit tbody")
        for p in refused[-AUDIT_SHOWN:]:
            await expect(audit).to_contain_text(p.marker, timeout=MS)
        skills = admin.locator("#cfg-skills tbody")
        for p in described:
            await expect(skills).to_contain_text(p.marker, timeout=MS)
        await expect(admin.locator('#cfg-agents tr[data-name="a1"]')).to_contain_text(
            named.marker, timeout=MS)

        flows = Path(floor.settings.flows_dir)  # the editor lists the folder's files
        flows.mkdir(parents=True, exist_ok=True)
        (flows / "inj.yaml").write_text((REPO / "ivr_flows" / "demo.yaml").read_text())
        await admin.reload()
        await admin.locator('#flows tr[data-flow="inj"] .flow-open').click()
        await expect(admin.locator("#flow-name")).not_to_be_empty(timeout=MS)
        await admin.fill("#flow-text", _flow(payloads))
        await admin.click("#flow-validate")
        errors = admin.locator("#flow-errors")
        await expect(errors.locator("li").first).to_be_visible(timeout=MS)
        quoted = await errors.text_content() or ""
        assert [p.name for p in payloads if p.marker not in quoted] == [], quoted

        await panel_user(floor, "inj-sup", "supervisor")
        board, board_dialogs = await open_page(browser, floor.url, "inj-sup", PASSWORD,
                                               "/wallboard", MS)
        await expect(board.locator('#agents tr[data-agent="a1"]')).to_contain_text(
            named.marker, timeout=MS)

        for page, dialogs in ((admin, admin_dialogs), (board, board_dialogs)):
            await assert_inert(page, dialogs)


async def test_no_payload_runs_in_the_admin_console_and_wallboard(browser, tmp_path):
    await _run(browser, tmp_path, quick(1))


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_no_payload_of_the_whole_corpus_runs_in_the_admin_console(browser, tmp_path):
    await _run(browser, tmp_path, PAYLOADS)
