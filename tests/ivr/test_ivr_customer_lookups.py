"""Customer lookups: the local table (with CSV import) and an HTTP CRM over a real socket."""

from __future__ import annotations

import asyncio

from aiohttp import web

from contactcenter.ivr.lookups import HttpCrmLookup, LocalCustomerLookup, LookupRouter
from contactcenter.storage.customers import CustomerRecord, CustomerStore, normalize_phone

CSV = """phone,name,account,tier,notes
+33 1 23 45 67 89,Ada Lovelace,12345,vip,prefers French
555-1234,Grace Hopper,777,gold,
,No Phone,1,,
5550000,Bob,888,,"multi, comma"
"""


async def test_csv_import_upserts_and_reports_bad_lines(database):
    store = CustomerStore(database)
    report = await store.import_csv(CSV, "customers.csv")
    assert (report.inserted, report.updated) == (3, 0)
    assert report.errors == ["customers.csv:4: no phone number"]
    again = await store.import_csv(CSV.replace("Bob", "Robert"), "customers.csv")
    assert (again.inserted, again.updated) == (0, 3)
    assert await store.count() == 3
    bob = await store.find_by_phone("555 0000")
    assert bob == CustomerRecord("5550000", "Robert", "888", "", "multi, comma")


async def test_csv_with_unknown_column_is_refused(database):
    store = CustomerStore(database)
    report = await store.import_csv("phone,name,shoe_size\n123,A,44\n", "c.csv")
    assert report.inserted == 0 and "shoe_size" in report.errors[0]
    assert report.errors[0].startswith("c.csv:1:")


async def test_local_lookup_by_phone_then_account(database):
    store = CustomerStore(database)
    await store.import_csv(CSV, "customers.csv")
    router = LookupRouter({"customers": LocalCustomerLookup(store)})
    by_phone = await router.lookup("customers", "+33123456789")
    assert by_phone.found and by_phone.fields["name"] == "Ada Lovelace"
    assert by_phone.fields["tier"] == "vip"
    by_account = await router.lookup("customers", "777")
    assert by_account.found and by_account.fields["name"] == "Grace Hopper"
    missing = await router.lookup("customers", "999999")
    assert not missing.found and missing.error is None
    unknown = await router.lookup("nosuch", "1")
    assert not unknown.found and "unknown lookup source" in unknown.error


def test_normalize_phone():
    assert normalize_phone(" +33 (1) 23-45 ") == "+3312345"
    assert normalize_phone("555.1234") == "5551234"
    assert normalize_phone("abc") == ""


async def _crm_server():
    hang = asyncio.Event()

    async def customer(request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        if key == "12345":
            return web.json_response({"name": "Ada", "tier": "vip", "balance": 12.5,
                                      "tags": ["x"], "active": True})
        if key == "slow":
            await hang.wait()
        if key == "broken":
            return web.Response(status=500, text="boom")
        if key == "notjson":
            return web.Response(text="<html>")
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/customers/{key}", customer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, port, hang


async def test_http_crm_lookup_found_missing_error_and_timeout():
    runner, port, hang = await _crm_server()
    crm = HttpCrmLookup(f"http://127.0.0.1:{port}/customers/{{key}}", timeout_s=0.5)
    try:
        found = await crm.find("12345")
        assert found.found and found.fields == {"name": "Ada", "tier": "vip", "balance": "12.5",
                                                "active": "true"}
        missing = await crm.find("00000")
        assert not missing.found and missing.error is None
        broken = await crm.find("broken")
        assert broken.error == "HTTP 500"
        notjson = await crm.find("notjson")
        assert notjson.error and not notjson.found
        slow = await crm.find("slow")
        assert slow.error == "timeout"
        odd = await crm.find("a/../b?c")  # quoted into one path segment
        assert not odd.found
    finally:
        hang.set()
        await crm.close()
        await runner.cleanup()
