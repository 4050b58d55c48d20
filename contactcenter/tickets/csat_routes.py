"""The customer's rating page, ``/rate/<token>``: public (the signed token is the only key),
plain HTML with no script, so it works in any mail client's browser.

  GET  /rate/<token>?r=good|bad   the one click from the survey mail: records the answer,
                                  then shows it (303 to the page without ``r``)
  GET  /rate/<token>              the page: the answer given, a comment, change it
  POST /rate/<token>              {rating, comment} from the page's form (Origin checked)

An unknown or altered token answers 404; a survey past its window 410. The page names the
ticket's number and subject only; it links nowhere else and its referrer stays on this
site (the token is in its address).
"""

from __future__ import annotations

from html import escape

from aiohttp import web

from contactcenter.tickets.csat import (
    RATINGS,
    Survey,
    SurveyClosed,
    answer_in,
    clean_rating,
    verify,
)
from contactcenter.tickets.model import TicketError, TicketNotFound
from contactcenter.tickets.service import Effects, TicketService
from contactcenter.tickets.store import ticket_of
from contactcenter.web.roles import PUBLIC, requires
from contactcenter.web.security import CSRF_ORIGIN_ONLY

_TOKEN = "{token:[0-9A-Za-z_-]{1,120}}"
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",  # no-referrer would make the form's Origin "null"
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; form-action 'self'; "
                               "base-uri 'none'; frame-ancestors 'none'",
}
_WORDS = {"good": "Good, I'm satisfied", "bad": "Bad, I'm unsatisfied"}


class RatingPage:
    """The public handlers over one ``TicketService``."""

    def __init__(self, service: TicketService) -> None:
        self.service = service

    def routes(self) -> list[web.RouteDef]:
        return [web.get(f"/rate/{_TOKEN}", self.show, allow_head=False),
                web.post(f"/rate/{_TOKEN}", self.save)]

    def _survey(self, request: web.Request) -> Survey:
        csat = self.service.settings.csat
        survey = verify(csat.secret, request.match_info["token"]) if csat.enabled else None
        if survey is None:
            raise _page(404, "Link not found", "<p>This rating link is not valid.</p>")
        return survey

    async def answer(self, survey: Survey, rating: str, comment: str | None) -> None:
        """Store the one answer of the survey's ticket (or change it), with its history."""
        service, store = self.service, self.service.store
        effects = Effects()
        async with service.lock, store.session() as s, s.begin():
            row = await store.row(s, survey.ticket_id, for_update=True)
            if row is None:
                raise TicketNotFound("no such ticket")
            existing = await store.rating_row(s, row.id)
            change = answer_in(s, existing, survey, service.settings.csat, rating, comment,
                               service.clock.time())
            if change is not None:
                store.add_change(s, change)
                effects.tell(row.assignee, "ticket-updated", ticket_of(row))
        await service.run(effects)

    async def _record(self, request: web.Request, survey: Survey, rating: object,
                      comment: object) -> None:
        try:
            clean, text = clean_rating(rating, comment)
            await self.answer(survey, clean, text)
        except SurveyClosed as exc:
            raise _page(410, "Survey closed", f"<p>{escape(str(exc))}.</p>") from None
        except TicketNotFound:
            raise _page(404, "Link not found", "<p>This rating link is not valid.</p>"
                        ) from None
        except TicketError as exc:
            raise _page(400, "Not saved", f"<p>{escape(str(exc))}.</p>") from None
        raise web.HTTPSeeOther(f"/rate/{request.match_info['token']}?saved=1",
                               headers=HEADERS)

    @requires(PUBLIC)
    async def show(self, request: web.Request) -> web.StreamResponse:
        """The survey page; with ``r`` the answer of the mail's one click."""
        survey = self._survey(request)
        if "r" in request.query:
            await self._record(request, survey, request.query["r"], None)
        ticket = await self.service.store.get(survey.ticket_id)
        if ticket is None:
            raise _page(404, "Link not found", "<p>This rating link is not valid.</p>")
        given = await self.service.store.rating(ticket.id)
        current = given["rating"] if given else None
        choices = "".join(
            f'<label class="choice {r}"><input type="radio" name="rating" value="{r}"'
            f'{" checked" if r == current else ""} required> {escape(_WORDS[r])}</label>'
            for r in RATINGS)
        saved = ('<p class="saved" role="status">Thank you: your answer is saved. You can '
                 'change it or add a comment below.</p>'
                 if given and request.query.get("saved") else "")
        comment = escape(given["comment"]) if given else ""
        body = (f"<p>Request #{ticket.id}: <strong>{escape(ticket.subject)}</strong></p>"
                f"{saved}"
                f'<form method="post" action="/rate/{escape(request.match_info["token"])}">'
                f"<fieldset><legend>How would you rate our support?</legend>{choices}"
                f"</fieldset>"
                f'<label for="comment">Comment (optional)</label>'
                f'<textarea id="comment" name="comment" rows="5" maxlength="2000">'
                f"{comment}</textarea>"
                f'<button type="submit">Save my answer</button></form>')
        return _response(200, "Rate our support", body)

    @requires(PUBLIC)
    async def save(self, request: web.Request) -> web.StreamResponse:
        """The page's form: a rating and a comment."""
        survey = self._survey(request)
        form = await request.post()
        await self._record(request, survey, form.get("rating"), form.get("comment", ""))
        raise AssertionError("unreachable")  # _record always answers

    save.csrf = CSRF_ORIGIN_ONLY  # type: ignore[attr-defined]  # no session: Origin only


def _response(status: int, title: str, body: str) -> web.Response:
    html = ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title>"
            '<link rel="stylesheet" href="/static/tickets/rate.css"></head>'
            f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>")
    return web.Response(status=status, text=html, content_type="text/html", headers=HEADERS)


def _page(status: int, title: str, body: str) -> web.HTTPException:
    kinds: dict[int, type[web.HTTPException]] = {
        400: web.HTTPBadRequest, 404: web.HTTPNotFound, 410: web.HTTPGone}
    return kinds[status](text=_response(status, title, body).text, content_type="text/html",
                         headers=HEADERS)


def add_rating_page(app: web.Application, service: TicketService) -> None:
    """``/rate/<token>`` (its style sheet is among the context's files)."""
    app.add_routes(RatingPage(service).routes())
