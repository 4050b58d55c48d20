"""In Chromium: an admin's invalid flow edit is refused with its line number and nothing
changes; a valid edit is saved and hot-reloaded; users are created, edited and disabled."""

from __future__ import annotations

from panel_floor import login, panel_floor
from playwright.async_api import expect

from contactcenter.web.auth import AUTH_KEY

T = 20_000  # ms: generous, only catches hangs


async def test_invalid_flow_edit_is_refused_with_line_then_valid_edit_is_live(browser, tmp_path):
    async with panel_floor(tmp_path) as floor:
        server = floor.server
        await floor.add_user("root", "admin")
        demo = floor.flows_dir / "demo.yaml"
        original = demo.read_bytes()
        version = server.flows.get("demo").version
        page = await login(browser, floor, "root")
        assert page.url.endswith("/admin")

        await page.click('#flows tr[data-flow="demo"] a.flow-open')
        editor = page.locator("#flow-text")
        await expect(editor).to_have_value(original.decode(), timeout=T)
        text = original.decode()
        bad_line = text.splitlines().index("    next: main_menu") + 1
        await editor.fill(text.replace("    next: main_menu", "    next: no_such_node", 1))
        await page.click("#flow-save")

        errors = page.locator("#flow-errors li")
        await expect(errors.first).to_contain_text(f"demo.yaml:{bad_line}:", timeout=T)
        await expect(errors.first).to_contain_text("no_such_node")
        await expect(page.locator("#flow-status")).to_have_text("refused: nothing was saved")
        assert demo.read_bytes() == original
        assert server.flows.get("demo").version == version
        assert await page.evaluate(  # the editor selected the offending line
            "(() => { const t = document.getElementById('flow-text');"
            " return t.value.slice(t.selectionStart, t.selectionEnd); })()"
        ) == "    next: no_such_node"
        refused = await server.audit.list(action_prefix="flows.save")
        assert [(a.actor, a.target, a.outcome) for a in refused] == [("root", "demo", "refused")]

        # A valid edit is saved and the registry serves it at once.
        await editor.fill(text.replace("description: Demo line, always open",
                                       "description: Demo line, edited in the browser", 1))
        await page.click("#flow-validate")
        await expect(page.locator("#flow-status")).to_have_text("valid", timeout=T)
        await page.click("#flow-save")
        await expect(page.locator("#flow-status")).to_contain_text("saved", timeout=T)
        assert "edited in the browser" in demo.read_text()
        assert server.flows.get("demo").version != version
        assert server.flows.get("demo").description == "Demo line, edited in the browser"

        # Users: create an agent, then disable them.
        await page.fill("#new-username", "newbie")
        await page.select_option("#new-role", "agent")
        await page.fill("#new-agent", "1002")
        await page.fill("#new-password", "a long enough password")
        await page.click("#user-create")
        row = page.locator('#users tr[data-user="newbie"]')
        await expect(row).to_contain_text("1002", timeout=T)
        # Edit: a phone for monitoring and a password reset (the role stays as it was).
        await row.locator("button.user-edit").click()
        await expect(page.locator("#edit-username")).to_have_text("newbie", timeout=T)
        await page.fill("#edit-phone", "PJSIP/2002")
        await page.fill("#edit-password", "another long password")
        await page.click("#user-save")
        await expect(row).to_contain_text("PJSIP/2002", timeout=T)
        await expect(page.locator("#user-edit")).to_be_hidden()
        await row.locator("button.user-toggle").click()
        await expect(row).to_contain_text("disabled", timeout=T)
        user = await _user(server, "newbie")
        assert user.disabled and user.role == "agent" and user.agent_id == "1002"
        assert user.phone == "PJSIP/2002"
        await expect(page.locator('#audit tr[data-action="users.create"]')).to_have_count(1)
        update = (await server.audit.list(action_prefix="users.update"))[-1]
        assert update.detail == {"phone": "PJSIP/2002", "password": "changed"}



async def _user(server, username):  # type: ignore[no-untyped-def]
    return await server.web_app[AUTH_KEY].store.get_by_username(username)
