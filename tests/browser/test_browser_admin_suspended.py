"""In Chromium: a stored queue that a file edit made invalid shows as suspended, with its error,
and saving a fixed version puts it back in force without a reload."""

from __future__ import annotations

import shutil
from dataclasses import replace

from panel_floor import login, panel_floor
from playwright.async_api import expect

from contactcenter.config.loader import database_url, resolve
from contactcenter.config.schema import Settings
from contactcenter.routing.config_store import RoutingConfigStore
from contactcenter.storage.database import Database

T = 20_000  # ms: generous, only catches hangs
LATAM = {"description": "Spanish line", "strategy": "longest_idle", "skills": {"spanish": 2}}


async def test_a_suspended_entry_is_shown_with_its_error_and_a_fixed_save_lifts_it(browser,
                                                                                     tmp_path):
    async def prepare(settings: Settings) -> Settings:
        # Stored earlier through the admin page; then agents.yaml lost its Spanish speakers.
        agents = tmp_path / "agents.yaml"
        shutil.copy(resolve(settings, settings.routing.agents_file), agents)
        agents.write_text(agents.read_text().replace("spanish", "german"))
        settings = replace(settings, routing=replace(settings.routing, agents_file=str(agents)))
        db = Database(database_url(settings))
        await db.create_all()
        await RoutingConfigStore(db).put("queues", "latam", LATAM, True, 0, "root", 1.0)
        await db.close()
        return settings

    async with panel_floor(tmp_path, prepare=prepare) as floor:
        assert "latam" not in floor.server.routing_config.queues  # started anyway
        await floor.add_user("root", "admin")
        page = await login(browser, floor, "root")
        row = page.locator('#cfg-queues tr[data-name="latam"]')
        await expect(row).to_have_attribute("data-status", "suspended", timeout=T)
        await expect(row).to_contain_text("suspended: queue latam", timeout=T)
        await expect(row).to_contain_text("spanish")
        health = await (await page.request.get(f"{floor.url}/api/health")).json()
        assert list(health["routing"]["suspended"]) == ["queue latam"]
        assert health["status"] == "ok"  # a warning: the server runs without the entry

        await page.click('#cfg-queues tr[data-name="latam"] button.cfg-edit')
        await expect(page.locator("#cfg-status")).to_contain_text("suspended", timeout=T)
        text = await page.locator("#cfg-text").input_value()
        await page.locator("#cfg-text").fill(text.replace("spanish", "german"))
        await page.click("#cfg-save")
        await expect(page.locator("#cfg-status")).to_contain_text("saved, version 2", timeout=T)
        await expect(row).to_have_attribute("data-status", "on", timeout=T)
        assert floor.server.routing_config.queues["latam"].skills == {"german": 2}
        health = await (await page.request.get(f"{floor.url}/api/health")).json()
        assert health["routing"]["suspended"] == {}
