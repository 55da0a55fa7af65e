"""The HTTP routes beside the Gradio pages: ``/api/chat`` for programs, with the news of a
handed-off conversation (``/api/chat/{session_id}/messages``, polled, and ``.../stream``,
server-sent events), ``/gradio.js`` for embedding the chat on another site, ``/healthz``.
(``/widget.json`` holds words, so it is ``app.py``'s.)

A conversation's news are read from the shared store every ``POLL_S`` seconds while a client
waits; a stream ends after ``STREAM_S`` seconds (clients reconnect with ``Last-Event-ID``).
Whoever knows a session id can read its news, as they can continue it: let the server make ids.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from pathlib import Path as FilePath
from typing import Literal

import gradio as gr
from fastapi import FastAPI, Header, Path, Query, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from chatbot.bot import Bot
from chatbot.live import LiveChat, News
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
    agent: str | None = Field(
        default=None, description="the person answering (route 'live': the bot is silent, their replies are news)"
    )


class LiveMessage(BaseModel):
    id: int = Field(description="the cursor: ask for news after it")
    ts: float
    sender: Literal["agent", "system"] = Field(description="a person's reply, or a note such as 'Anna has joined'")
    author: str | None
    text: str


class ChatNews(BaseModel):
    messages: list[LiveMessage]
    status: Literal["open", "live"] | None = Field(
        description="open: waiting for a person; live: a person answers; null: the bot answers"
    )
    agent: str | None
    cursor: int = Field(description="pass it as `after` next time")


POLL_S = 0.25  # how often a waiting client's conversation is read from the store
STREAM_S = 3600.0  # a stream ends after this long; the client reconnects with Last-Event-ID
KEEPALIVE_S = 15.0  # a comment line on a quiet stream, so proxies keep it open
SESSION_ID = Path(max_length=128, description="the conversation's id, as /api/chat returned it")


def _news(news: News) -> ChatNews:
    state = news.state
    return ChatNews(
        messages=[LiveMessage(id=m.id, ts=m.ts, sender=m.sender, author=m.author, text=m.text) for m in news.messages],
        status=state.status if state else None,
        agent=state.agent if state else None,
        cursor=news.cursor,
    )


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
            agent=reply.trace.get("agent") if reply.route == "live" else None,
        )


def add_live_api(server: FastAPI, live: LiveChat) -> None:
    """The news of a handed-off conversation for ``/api/chat`` clients: what the person says
    and the notes (joined, handed back, closed), by long polling or as a server-sent event stream."""

    @server.get("/api/chat/{session_id}/messages", response_model=ChatNews)
    async def messages(
        session_id: str = SESSION_ID,
        after: int = Query(0, ge=0, description="the cursor of the last message you have (0: all)"),
        wait: float = Query(0.0, ge=0.0, le=30.0, description="seconds to wait for news before answering empty"),
    ) -> ChatNews:
        """New messages from a person. Example, waiting up to 25 s:
        ``curl 'localhost:7860/api/chat/abc/messages?after=0&wait=25'``"""
        deadline = time.monotonic() + wait
        while True:
            news = await asyncio.to_thread(live.news, session_id, after)
            if news.messages or time.monotonic() >= deadline:
                return _news(news)
            await asyncio.sleep(POLL_S)

    @server.get("/api/chat/{session_id}/stream", response_class=StreamingResponse)
    async def stream(
        request: Request,
        session_id: str = SESSION_ID,
        after: int = Query(0, ge=0, description="the cursor of the last message you have"),
        last_event_id: int | None = Header(None, description="set by EventSource when it reconnects"),
    ) -> StreamingResponse:
        """Server-sent events: ``event: message`` (a ``LiveMessage``, its id the cursor) and
        ``event: status`` (``{status, agent}``, at the start and on each change, after the
        messages that came with it). Example:
        ``curl -N localhost:7860/api/chat/abc/stream``; in a browser, ``new EventSource(url)``."""
        return StreamingResponse(
            _events(request, live, session_id, last_event_id if last_event_id is not None else after),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )


async def _events(request: Request, live: LiveChat, session_id: str, cursor: int):
    started = beat = time.monotonic()
    status = None
    while time.monotonic() - started < STREAM_S and not await request.is_disconnected():
        news = _news(await asyncio.to_thread(live.news, session_id, cursor))
        for message in news.messages:
            yield f"id: {message.id}\nevent: message\ndata: {message.model_dump_json()}\n\n"
        if (news.status, news.agent) != status:  # after the messages: "handed back" comes before the end
            status = news.status, news.agent
            yield f"event: status\ndata: {json.dumps({'status': news.status, 'agent': news.agent})}\n\n"
        cursor = news.cursor
        if time.monotonic() - beat >= KEEPALIVE_S:
            beat = time.monotonic()
            yield ": keep-alive\n\n"
        await asyncio.sleep(POLL_S)


def add_web_component(server: FastAPI) -> None:
    @server.get("/gradio.js", include_in_schema=False)
    def web_component() -> FileResponse:
        """Gradio's web component loader, served by the bot itself (no CDN): another site's
        page embeds the chat with ``<script type="module" src=".../gradio.js">`` and
        ``<gradio-app src="...">``. It only imports the bundle under ``/assets``."""
        return FileResponse(
            FilePath(gr.__file__).parent / "templates" / "frontend" / "gradio.js",
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
