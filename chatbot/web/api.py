"""The HTTP routes beside the Gradio pages: ``/api/chat`` for programs, ``/gradio.js`` for
embedding the chat on another site, ``/healthz``. (``/widget.json`` holds words, so it is
``app.py``'s.)"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import gradio as gr
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from chatbot.bot import Bot
from chatbot.ratelimit import RateLimiter
from chatbot.sessions import new_session_id
from chatbot.web.limits import Limits, Refuse

log = logging.getLogger(__name__)


class ChatRequest(BaseModel):
    session_id: str = Field(
        default="", max_length=128, description="any id of the conversation; empty starts a new one"
    )
    message: str = Field(max_length=100_000, description="the customer's message")


class ChatResponse(BaseModel):
    session_id: str
    reply: str
    route: str
    intent: str | None
    confidence: float
    suggestions: list[str]
    sources: list[dict]
    turn_id: int | None = None


def add_chat_api(server: FastAPI, bot: Bot, limits: Limits, refuse: Refuse) -> None:
    """``POST /api/chat``: 429 over the rate limit (with the ``refuse`` reply), 503 "busy" when
    as many turns are in flight as the page's queue holds, 500 with a polite reply when the bot
    fails, else the ``ChatResponse``."""
    in_flight = threading.BoundedSemaphore(bot.settings.queue_concurrency + bot.settings.queue_size)

    @server.post("/api/chat", response_model=ChatResponse)
    def chat(request: ChatRequest, http: Request):
        """One chat turn. Example: ``curl -X POST localhost:7860/api/chat -H 'content-type: application/json'
        -d '{"session_id": "abc", "message": "where is my order A-12345?"}'``"""
        wait = limits.wait_for(http, request.session_id or None)
        if wait:
            limited = refuse(wait)
            return JSONResponse(
                status_code=429,
                headers={"retry-after": RateLimiter.retry_after(wait)},
                content={"session_id": request.session_id, "reply": limited.text, "route": limited.route},
            )
        if not in_flight.acquire(blocking=False):  # as many turns as the page's queue holds, then "busy"
            return JSONResponse(
                status_code=503,
                headers={"retry-after": "2"},
                content={"session_id": request.session_id, "reply": bot.domain.render("busy"), "route": "busy"},
            )
        session_id = request.session_id or new_session_id()
        try:
            reply = bot.reply(session_id, request.message)
        except Exception:  # logged in full here, never shown to the customer
            log.exception("the bot failed on an API message")
            return JSONResponse(
                status_code=500,
                content={"session_id": session_id, "reply": bot.domain.render("server_error"), "route": "error"},
            )
        finally:
            in_flight.release()
        return ChatResponse(
            session_id=session_id,
            reply=reply.text,
            route=reply.route,
            intent=reply.intent,
            confidence=round(reply.confidence, 4),
            suggestions=reply.suggestions,
            sources=reply.sources,
            turn_id=reply.turn_id,
        )


def add_web_component(server: FastAPI) -> None:
    @server.get("/gradio.js", include_in_schema=False)
    def web_component() -> FileResponse:
        """Gradio's web component loader, served by the bot itself (no CDN): another site's
        page embeds the chat with ``<script type="module" src=".../gradio.js">`` and
        ``<gradio-app src="...">``. It only imports the bundle under ``/assets``."""
        return FileResponse(
            Path(gr.__file__).parent / "templates" / "frontend" / "gradio.js",
            media_type="text/javascript",
            headers={"access-control-allow-origin": "*", "cache-control": "max-age=300"},
        )


def add_health(server: FastAPI, bot: Bot) -> None:
    @server.get("/healthz")
    def healthz() -> dict:
        return {
            "status": "ok",
            "model_version": bot.model_version,
            "model_created_at": bot.classifier.version.created_at,
            "intents": len(bot.classifier.labels),
            "faq_entries": len(bot.faq),
            "device": str(bot.classifier.encoder.device),
            "precision": str(bot.classifier.encoder.dtype).removeprefix("torch."),
            "runtime": "onnx" if bot.classifier.encoder.onnx_session is not None else "torch",
        }
