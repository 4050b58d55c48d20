"""The customer's rating page, ``/rate/<token>``: public (the signed token is the only key),
plain HTML with no script, so it works in any mail client's browser.

  GET  /rate/<token>?r=1..5   the page with that score preselected: records nothing (mail
                              security scanners follow every link of a mail)
  GET  /rate/<token>          the page; once answered, the answer given ("already answered")
  POST /rate/<token>          {rating, comment} from the page's form (Origin checked): the
                              first answer stands, a later one changes nothing (303 to the
                              page, which shows the answer that stands)

An unknown or altered token answers 404; a survey past its window 410. The page names the
ticket's number and subject only; it links nowhere else and its referrer stays on this
site (the token is in its address).
"""

from __future__ import annotations

from html import escape

from aiohttp import web

from contactcenter.tickets.csat import (
    RATINGS,
    WORDS,
    Answer,
    Survey,
    SurveyClosed,
    answer_in,
    answer_of,
    check_open,
    clean_rating,
    preselected,
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
_NOT_FOUND = "<p>This rating link is not valid.</p>"


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
            raise _page(404, "Link not found", _NOT_FOUND)
        return survey

    async def answer(self, survey: Survey, rating: int, comment: str) -> bool:
        """Store the one answer of the survey's ticket with its history; False when it was
        answered already (nothing changes)."""
        service, store = self.service, self.service.store
        effects = Effects()
        async with service.lock, store.session() as s, s.begin():
            row = await store.row(s, survey.ticket_id, for_update=True)
            if row is None:
                raise TicketNotFound("no such ticket")
            existing = await store.rating_row(s, row.id)
            change = answer_in(s, existing, survey, service.settings.csat, rating, comment,
                               service.clock.time())
            if change is None:
                return False
            store.add_change(s, change)
            effects.tell(row.assignee, "ticket-updated", ticket_of(row))
        await service.run(effects)
        return True

    @requires(PUBLIC)
    async def show(self, request: web.Request) -> web.StreamResponse:
        """The survey page (``r``: the score to preselect); once answered, the answer."""
        survey = self._survey(request)
        ticket = await self.service.store.get(survey.ticket_id)
        if ticket is None:
            raise _page(404, "Link not found", _NOT_FOUND)
        async with self.service.store.session() as s:
            given = answer_of(await self.service.store.rating_row(s, ticket.id))
        about = f"<p>Request #{ticket.id}: <strong>{escape(ticket.subject)}</strong></p>"
        if given is not None:
            thanks = ("Thank you: your answer is saved." if request.query.get("saved")
                      else "You have already answered, thank you.")
            return _response(200, "Rate our support",
                             f'{about}<p class="saved" role="status">{thanks}</p>'
                             f"{_given(given)}")
        try:
            check_open(survey, self.service.settings.csat, self.service.clock.time())
        except SurveyClosed as exc:
            raise _page(410, "Survey closed", f"<p>{escape(str(exc))}.</p>") from None
        return _response(200, "Rate our support",
                         about + _form(request.match_info["token"],
                                       preselected(request.query.get("r"))))

    @requires(PUBLIC)
    async def save(self, request: web.Request) -> web.StreamResponse:
        """The page's form: a score and a comment; the first answer stands."""
        survey = self._survey(request)
        form = await request.post()
        try:
            rating, comment = clean_rating(form.get("rating"), form.get("comment", ""))
            saved = await self.answer(survey, rating, comment)
        except SurveyClosed as exc:
            raise _page(410, "Survey closed", f"<p>{escape(str(exc))}.</p>") from None
        except TicketNotFound:
            raise _page(404, "Link not found", _NOT_FOUND) from None
        except TicketError as exc:
            raise _page(400, "Not saved", f"<p>{escape(str(exc))}.</p>") from None
        token = request.match_info["token"]
        raise web.HTTPSeeOther(f"/rate/{token}?saved=1" if saved else f"/rate/{token}",
                               headers=HEADERS)

    save.csrf = CSRF_ORIGIN_ONLY  # type: ignore[attr-defined]  # no session: Origin only


def _form(token: str, chosen: int | None) -> str:
    """The survey's form: five radios in a fieldset (arrow keys move between them)."""
    choices = "".join(
        f'<label class="choice score-{r}"><input type="radio" name="rating" value="{r}"'
        f'{" checked" if r == chosen else ""} required> <span class="score">{r}</span> '
        f"{escape(WORDS[r])}</label>"
        for r in reversed(RATINGS))
    return (f'<form method="post" action="/rate/{escape(token)}">'
            f"<fieldset><legend>How would you rate our support? (5 is best)</legend>"
            f"{choices}</fieldset>"
            f'<label for="comment">Comment (optional)</label>'
            f'<textarea id="comment" name="comment" rows="5" maxlength="2000"></textarea>'
            f'<button type="submit">Send my answer</button></form>')


def _given(answer: Answer) -> str:
    comment = (f'<p>Your comment: <q class="comment">{escape(answer.comment)}</q></p>'
               if answer.comment else "")
    return (f'<p class="given">Your rating: <strong class="score">{answer.rating}</strong> of 5 '
            f"({escape(WORDS.get(answer.rating, ''))})</p>{comment}")


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
