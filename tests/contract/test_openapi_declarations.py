"""The declaration machinery the contract run found wanting (web/openapi.py), one rule a test:
what a handler declares is both its document and its check."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import example, given, settings
from hypothesis import strategies as st
from multidict import MultiDict

from contactcenter.kb.model import clean_tags
from contactcenter.kb.routes import _SEARCH_QUERY as _KB_SEARCH_QUERY
from contactcenter.kb.routes import _TAGS as _KB_TAGS
from contactcenter.routing.engine import MAX_REASON, check_reason
from contactcenter.web.openapi import (
    ENUM_FROM,
    api_doc,
    build_openapi,
    check_query,
    check_schema,
    declare_enum,
    declared_query_middleware,
    printable,
    read_declared_json,
)
from contactcenter.web.roles import PUBLIC, requires


def test_an_integral_float_is_an_integer_as_json_schema_says():
    # schemathesis sent {"version": 591.0}; JSON Schema counts it an integer, we refused it
    assert check_schema({"type": "integer"}, 591.0) == []
    assert check_schema({"type": "integer"}, 591.5) == ["body must be an integer"]
    assert check_schema({"type": "integer"}, True) == ["body must be an integer"]


def test_query_parameters_are_checked_as_declared():
    declared: dict[str, dict[str, Any]] = {
        "active": {"type": "string", "enum": ["0", "1"]},
        "to": {"type": "string", "format": "date"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 50},
        "q": {"type": "string", "maxLength": 10, "required": True},
    }

    def problems(*pairs: tuple[str, str]) -> list[str]:
        return check_query(declared, MultiDict(pairs))

    assert problems(("q", "x")) == []
    assert problems(("q", "x"), ("active", "AAA")) == ["active must be one of 0, 1"]
    assert problems(("q", "x"), ("to", "")) and problems(("q", "x"), ("to", "2026-02-30"))
    assert problems(("q", "x"), ("to", "2026-02-28")) == []
    assert problems(("q", "x"), ("limit", "51")) == ["limit must be at most 50"]
    assert problems(("q", "x"), ("limit", "abc")) == ["limit must be an integer"]
    assert problems() == ["q is required"]
    assert problems(("q", "a\nb")) == ["q must be one line (no CR, LF or NUL)"]
    assert problems(("q", "a"), ("q", "b")) == []  # repeated: each one as declared


def test_date_time_needs_its_zone():
    schema = {"type": "string", "format": "date-time"}
    assert check_schema(schema, "2027-01-31T09:00:00Z") == []
    assert check_schema(schema, "2027-01-31T09:00:00+01:00") == []
    assert check_schema(schema, "2027-01-31T09:00:00")
    assert check_schema(schema, "2027-01-31")


class _Handlers:
    @requires(PUBLIC)
    @api_doc(query={"n": {"type": "integer", "minimum": 1}})
    async def counted(self, request: web.Request) -> web.Response:
        """A JSON read with a declared query parameter."""
        return web.json_response({"n": int(request.query.get("n", "1"))})

    @requires(PUBLIC)
    async def page(self, request: web.Request) -> web.Response:
        """A page."""
        return web.Response(text="<p>hi</p>", content_type="text/html")

    @requires(PUBLIC)
    @api_doc(websocket=True)
    async def socket(self, request: web.Request) -> web.Response:
        """A websocket."""
        raise web.HTTPBadRequest(text="websocket upgrade expected")


async def test_the_document_says_what_the_server_answers():
    app = web.Application(middlewares=[declared_query_middleware])
    h = _Handlers()
    app.router.add_get("/api/counted", h.counted)
    app.router.add_get("/help/{slug}", h.page)
    app.router.add_get("/api/socket", h.socket)
    doc = build_openapi(app)
    counted = doc["paths"]["/api/counted"]["get"]
    assert "400" in counted["responses"]  # the query check's answer is listed
    page_404 = doc["paths"]["/help/{slug}"]["get"]["responses"]["404"]
    assert "application/json" not in page_404["content"]  # a page answers text or a page
    socket = doc["paths"]["/api/socket"]["get"]
    assert socket["x-websocket"] and {"101", "400"} <= set(socket["responses"])
    async with TestClient(TestServer(app)) as client:
        async with client.get("/api/counted?n=0") as r:
            assert r.status == 400
        async with client.get("/api/counted?n=2") as r:
            assert r.status == 200 and await r.json() == {"n": 2}


@settings(deadline=None)  # no timing decides a test (the first builds a pattern)
@given(st.text(max_size=MAX_REASON + 2))
@example("break \u00e9t\u00e9 \U0001f600")
@example("\u200b")  # a format character: not printable
@example("\u00a0")  # a no-break space: not printable, unlike " "
@example("\ud800")  # a lone surrogate, as JSON can carry one
@example("\U000e0001")
def test_the_printable_pattern_is_the_engines_reason_rule(reason):
    # pause reasons and dispositions: the declaration refuses exactly what check_reason does
    try:
        check_reason(reason)
        engine_accepts = True
    except ValueError:
        engine_accepts = False
    assert (check_schema(printable(1, MAX_REASON), reason) == []) == engine_accepts


def test_instants_in_queries_are_rfc_3339_as_the_handlers_read_them():
    # recordings search and keyword hits: what the check lets through, the handler parses
    declared = {"from": {"type": "string", "format": "date-time"}}
    assert check_query(declared, MultiDict([("from", "2026-05-01t00:00:00.5z")])) == []
    assert check_query(declared, MultiDict([("from", "2026-05-01 00:00:00+02:00")])) == []
    assert check_query(declared, MultiDict([("from", "2026-05-01")]))
    assert check_query(declared, MultiDict([("from", "yesterday")]))


_LOCALE = {"type": "string", ENUM_FROM: "kb.locales"}


class _Kb:
    @requires(PUBLIC)
    @api_doc(query={"locale": _LOCALE},
             request={"type": "object", "properties": {
                 "names": {"type": "object", "propertyNames": _LOCALE}}})
    async def echo(self, request: web.Request) -> web.Response:
        """A write whose locales come from the settings."""
        return web.json_response(await read_declared_json(request))


async def test_an_enum_from_the_settings_is_documented_and_enforced():
    app = web.Application(middlewares=[declared_query_middleware])
    app.router.add_post("/api/echo", _Kb().echo)
    bare = build_openapi(app)["paths"]["/api/echo"]["post"]
    assert "enum" not in bare["parameters"][0]["schema"]  # nothing declared: no list
    declare_enum(app, "kb.locales", ("en", "fr"))
    op = build_openapi(app)["paths"]["/api/echo"]["post"]
    assert op["parameters"][0]["schema"]["enum"] == ["en", "fr"]
    names = op["requestBody"]["content"]["application/json"]["schema"]["properties"]["names"]
    assert names["propertyNames"]["enum"] == ["en", "fr"]
    async with TestClient(TestServer(app)) as client:
        async with client.post("/api/echo?locale=fr", json={"names": {"en": "x"}}) as r:
            assert r.status == 200
        async with client.post("/api/echo?locale=de", json={}) as r:
            assert r.status == 400 and "en, fr" in (await r.json())["error"]
        async with client.post("/api/echo", json={"names": {"de": "x"}}) as r:
            assert r.status == 400 and "names.de (its name)" in (await r.json())["error"]


@settings(deadline=None)  # no timing decides a test (the first builds a pattern)
@given(st.lists(st.text(max_size=44), max_size=22))
@example(["  Billing-2 ", "billing-2"])
@example(["\x00"])
def test_declared_tags_are_tags_clean_tags_takes(tags):
    # kb articles: a tag list the declaration lets through, the service never refuses
    if check_schema(_KB_TAGS, tags) == []:
        clean_tags(tags)


def test_a_search_needs_something_to_search_for_and_no_nul():
    # "\S" alone let "s\t\x00" through the declaration, and the handler refused the NUL
    q = {"q": {"type": "string", "pattern": _KB_SEARCH_QUERY["q"]["pattern"]}}
    assert check_query(q, MultiDict([("q", " refund ")])) == []
    for bad in ("s\t\x00", "\x00", " \t"):
        assert check_query(q, MultiDict([("q", bad)])), repr(bad)
