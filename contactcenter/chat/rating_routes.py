"""The chat rating's routes (``rating.py``): the widget's answer and the agent's view.

Widget (a channel's ``allowed_origins`` only, no cookie; the chat's id and visitor token):
  POST /api/chat/widget/{channel}/rating   {conversation_id, token, rating: 1..5, comment?}
                                            -> 201 {rating} recorded; 200 {rating, already:
                                            true} answered before (nothing changed); 422
                                            {errors}; 403; 409 (not ended, or none offered)
Agent (the chat's agent, or staff):
  GET  /api/chat/conversations/{id}/rating  -> {rating: {...} | null}
"""

from __future__ import annotations

from aiohttp import web

from contactcenter.chat import origins
from contactcenter.chat.errors import ChatError
from contactcenter.chat.model import Refused
from contactcenter.chat.rating import ChatRatings, may_see
from contactcenter.chat.settings import ChatChannelSettings
from contactcenter.chat.visitor_errors import visitor_error
from contactcenter.web.roles import ANY_USER, PUBLIC, Actor, requires
from contactcenter.web.security import CSRF_CROSS_ORIGIN, json_error, read_json_object

MAX_BODY = 8 * 1024


class RatingRoutes:
    """The handlers over one ``ChatRatings``."""

    def __init__(self, ratings: ChatRatings) -> None:
        self.ratings = ratings

    def routes(self) -> list[web.RouteDef]:
        return [web.options("/api/chat/widget/{channel}/rating", self.preflight),
                web.post("/api/chat/widget/{channel}/rating", self.answer),
                web.get("/api/chat/conversations/{id}/rating", self.show, allow_head=False)]

    def _channel_for(self, request: web.Request) -> tuple[ChatChannelSettings, str]:
        return origins.widget_channel(request, self.ratings.service.channel)

    @requires(PUBLIC)
    async def preflight(self, request: web.Request) -> web.Response:
        """CORS preflight of the answer."""
        _channel, origin = self._channel_for(request)
        return web.Response(status=204, headers=origins.preflight_headers(origin, "POST"))

    @requires(PUBLIC)
    async def answer(self, request: web.Request) -> web.Response:
        """The visitor of an ended chat rates it (the first answer stands)."""
        channel, origin = self._channel_for(request)
        cors = origins.cors_headers(origin)
        body = await read_json_object(request, MAX_BODY)
        try:
            rated, recorded = await self.ratings.answer(
                channel, body.get("conversation_id"), body.get("token"), body.get("rating"),
                body.get("comment"))
        except (Refused, ChatError) as exc:
            return visitor_error(exc, cors)
        out = {"rating": rated.rating, "comment": rated.comment}
        if recorded:
            return web.json_response(out, status=201, headers=cors)
        return web.json_response({**out, "already": True}, headers=cors)

    answer.csrf = CSRF_CROSS_ORIGIN  # type: ignore[attr-defined]

    @requires(*ANY_USER)
    async def show(self, request: web.Request) -> web.Response:
        """A chat's rating survey and answer (its agent, or staff)."""
        actor: Actor = request["actor"]
        service = self.ratings.service
        record = await service.record(request.match_info["id"][:64])
        if record is None:
            raise json_error(web.HTTPNotFound, "no conversation with that id")
        if not may_see(actor, record.agent_id):
            raise json_error(web.HTTPForbidden, "not your conversation")
        rated = await self.ratings.of(record.id)
        return web.json_response({"rating": None if rated is None else rated.as_json()})


def add_rating_routes(app: web.Application, ratings: ChatRatings) -> None:
    """Install the rating's routes on ``app``."""
    app.add_routes(RatingRoutes(ratings).routes())
