"""In Chromium: an admin adds a skill, gives it to an agent (an invalid level is refused first,
with its line) and creates a queue needing it; another admin's page, the supervisor's
wallboard and the config API show each change without a reload."""

from __future__ import annotations

from panel_floor import login, panel_floor
from playwright.async_api import expect

T = 20_000  # ms: generous, only catches hangs


async def _save_yaml(page, text: str, expect_status: str) -> None:  # type: ignore[no-untyped-def]
    await page.locator("#cfg-text").fill(text)
    await page.click("#cfg-save")
    await expect(page.locator("#cfg-status")).to_contain_text(expect_status, timeout=T)


async def test_admin_edits_skills_agents_and_queues_live(browser, tmp_path):
    async with panel_floor(tmp_path) as floor:
        server = floor.server
        await floor.add_user("root", "admin")
        await floor.add_user("root2", "admin")
        await floor.add_user("sup", "supervisor")
        other = await login(browser, floor, "root2")  # opened before the changes
        board = await login(browser, floor, "sup")
        page = await login(browser, floor, "root")
        assert page.url.endswith("/admin") and board.url.endswith("/wallboard")
        await expect(page.locator("#cfg-live")).to_have_text("(live)", timeout=T)
        await expect(other.locator("#cfg-live")).to_have_text("(live)", timeout=T)
        carla = other.locator('#cfg-agents tr[data-name="1003"]')
        await expect(carla).to_contain_text("spanish 5", timeout=T)

        # A new skill.
        await page.fill("#new-skills", "french")
        await page.click('button.cfg-new[data-kind="skills"]')
        await expect(page.locator("#cfg-title")).to_have_text("skill french", timeout=T)
        await _save_yaml(page, "description: French speakers\n", "saved, version 1")
        await expect(other.locator('#cfg-skills tr[data-name="french"]')).to_contain_text(
            "French speakers", timeout=T)

        # Agent 1003 gets it: a level out of range is refused with its line, nothing changes.
        await page.click('#cfg-agents tr[data-name="1003"] button.cfg-edit')
        await expect(page.locator("#cfg-title")).to_have_text("agent 1003", timeout=T)
        text = await page.locator("#cfg-text").input_value()
        assert "support: 4}" in text
        line = text.splitlines().index(next(x for x in text.splitlines()
                                            if x.startswith("skills:"))) + 1
        await _save_yaml(page, text.replace("support: 4}", "support: 4, french: 11}", 1),
                         "refused: nothing was saved")
        error = page.locator("#cfg-errors li").first
        await expect(error).to_contain_text(f"agent 1003:{line}:", timeout=T)
        await expect(error).to_contain_text("skill level must be an integer 1..10")
        assert "french" not in server.routing_config.agents["1003"].skills

        await page.locator("#cfg-text").fill(text.replace("support: 4}", "support: 4, french: 4}", 1))
        await page.click("#cfg-validate")
        await expect(page.locator("#cfg-status")).to_have_text("valid", timeout=T)
        await page.click("#cfg-save")
        await expect(page.locator("#cfg-status")).to_contain_text("saved, version 1", timeout=T)
        await expect(carla).to_contain_text("french 4", timeout=T)  # the other admin, no reload
        await expect(carla).to_contain_text("database (overrides the file)")
        assert server.routing_config.agents["1003"].skills["french"] == 4
        config = await board.evaluate("cc.api('GET', '/api/panel/config')")
        assert next(a for a in config["agents"] if a["id"] == "1003")["skills"]["french"] == 4

        # A queue that needs the skill: on the wallboard at once; the agent can work it.
        await page.fill("#new-queues", "french")
        await page.click('button.cfg-new[data-kind="queues"]')
        await _save_yaml(page, "description: French line\nstrategy: most_skilled\n"
                               "skills: {french: 2}\nwrapup_s: 10\n", "saved, version 1")
        await expect(board.locator('#queues tr[data-queue="french"]')).to_be_visible(timeout=T)
        await server.routing.agent_login("1003", ["french"])
        await expect(board.locator('#agents tr[data-agent="1003"]')).to_contain_text(
            "french", timeout=T)

        # Disabling the queue while the agent is logged in to it is refused, with the reason.
        await page.click('#cfg-queues tr[data-name="french"] button.cfg-toggle')
        await expect(page.locator("#cfg-error")).to_contain_text(
            "agent(s) 1003 logged in to it", timeout=T)
        assert "french" in server.routing_config.queues
        actions = [(a.action, a.outcome) for a in await server.audit.list(action_prefix="config.")]
        assert actions == [("config.queue.disable", "refused"), ("config.queue.create", "ok"),
                           ("config.agent.save", "ok"), ("config.agent.save", "refused"),
                           ("config.skill.create", "ok")]
