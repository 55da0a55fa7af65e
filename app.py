"""The bot's web server: ``python app.py [--host 127.0.0.1] [--port 7860] [--root-path /bot]``.

One FastAPI app in one process:

- ``/``            the public chat (Gradio), one session per browser tab; embeddable (iframe or
                   Gradio's web component)
- ``/admin``       the operator console (Gradio, behind a login)
- ``/api/chat``    JSON ``{session_id, message}`` -> ``{reply, route, intent, confidence, suggestions, sources}``
- ``/healthz``     liveness and what is serving
- ``/widget.json`` the embedded widget's words in the bot's language (``assets/embed.html``)

This file holds no business logic: a chat message goes to ``chatbot.Bot``, an operator's action
to ``chatbot.admin.Console``. No admin function is reachable from ``/``, ``/api/chat`` or the
public Gradio API: the console's events live in another Blocks, mounted behind the login.

Every word of the page is English source text passed to ``t`` (``chatbot.i18n``), shown in the
bot's language (``CHATBOT_LANGUAGE``); what the bot says comes from its ``templates.yaml``.
"""

from __future__ import annotations

import argparse
import html
import logging
import os
import sys
import threading
import uuid
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402
from fastapi.middleware.cors import CORSMiddleware  # noqa: E402
from fastapi.responses import FileResponse, JSONResponse  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

from chatbot import Bot, Reply, Settings, load_bot  # noqa: E402
from chatbot.admin import AdminAuth, Console  # noqa: E402
from chatbot.console_page import build_console  # noqa: E402
from chatbot.i18n import Translate, translator  # noqa: E402
from chatbot.ratelimit import RateLimiter  # noqa: E402

log = logging.getLogger("app")


class Limits:
    """Rate limits shared by the chat page and ``/api/chat``: per client address and per
    conversation (token buckets; see ``chatbot.ratelimit``). ``Limits.off()`` for operators."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.client = RateLimiter(
            settings.rate_limit_per_minute if settings else 0, settings.rate_limit_burst if settings else 1
        )
        self.session = RateLimiter(
            settings.session_rate_limit_per_minute if settings else 0,
            settings.session_rate_limit_burst if settings else 1,
        )

    @classmethod
    def off(cls) -> Limits:
        return cls(None)

    def wait(self, client: str | None, session_id: str | None) -> float:
        """0.0 when this turn may run, else the seconds to wait."""
        wait = self.client.check(client or "unknown")
        if not wait and session_id:
            wait = self.session.check(session_id)
        return wait


def slow_down(wait: float, t: Translate | None = None) -> Reply:
    seconds = RateLimiter.retry_after(wait)
    t = t or translator("en")
    text = t(
        "You're sending messages faster than we can read them. Please wait {seconds} seconds and try again.",
        seconds=seconds,
    )
    return Reply(text, "rate_limited", None, 0.0, trace={"route": "rate_limited", "retry_after": int(seconds)})


def _client(request: gr.Request | None) -> str | None:
    client = getattr(request, "client", None)
    return getattr(client, "host", None)


def build_app(bot: Bot, show_trace: bool | None = None, limits: Limits | None = None) -> gr.Blocks:
    """The public chat page: one session per browser tab, suggestions as clickable chips,
    thumbs up/down on each answer, a "talk to a person" button, and (for operators) the trace.
    The queue bounds concurrent turns and waiting ones, so a burst gets a busy message, not a hang."""
    t = translator(bot.settings.language)
    shop = bot.domain.variables.get("shop_name") or t("Customer service")
    show_trace = bot.settings.show_trace if show_trace is None else show_trace
    limits = limits or Limits(bot.settings)

    def turn(call, history: list, turns: dict, session_id: str | None, shown_message: str):
        session_id = session_id or uuid.uuid4().hex
        try:
            reply = call(session_id)
            text, suggestions, trace = reply.text, reply.suggestions, reply.trace
        except Exception:  # a polite answer, never a stack trace, for the customer
            log.exception("the bot failed on a message")
            reply, text, suggestions, trace = None, bot.domain.render("server_error"), [], {"route": "error"}
        shown = html.escape(shown_message)  # the customer's text is shown as text: no markup, no script
        history = [*history, {"role": "user", "content": shown}, {"role": "assistant", "content": text}]
        if reply is not None and reply.turn_id is not None:
            turns = {**turns, str(len(history) - 1): reply.turn_id}
        chips = gr.Dataset(samples=[[s] for s in suggestions], visible=bool(suggestions))
        return "", history, turns, session_id, chips, trace

    def respond(message: str, history: list, turns: dict, session_id: str | None, request: gr.Request):
        wait = limits.wait(_client(request), session_id)
        if wait:  # the customer sees why, and nothing reaches the model
            return turn(lambda sid: slow_down(wait, t), history, turns, session_id, message)
        return turn(lambda sid: bot.reply(sid, message), history, turns, session_id, message)

    def choose(sample: list, history: list, turns: dict, session_id: str | None, request: gr.Request):
        return respond(sample[0], history, turns, session_id, request)

    def talk_to_person(history: list, turns: dict, session_id: str | None):
        return turn(lambda sid: bot.handoff(sid), history, turns, session_id, bot.person_label)

    def feedback(data: gr.LikeData, turns: dict):
        turn_id = turns.get(str(data.index[0] if isinstance(data.index, list | tuple) else data.index))
        if turn_id is None or bot.store is None or data.liked not in (True, False):
            return
        bot.store.set_feedback(turn_id, 1 if data.liked else -1)
        gr.Info(t("Thanks for the feedback!") if data.liked else t("Thanks, we'll use this to improve our answers."))

    with gr.Blocks(title=t("{shop} assistant", shop=shop), fill_height=True) as demo:
        session = gr.State(None)
        turns = gr.State({})
        gr.Markdown(
            t(
                "### {shop} customer service\nAsk about orders, deliveries, returns, payments or our products.",
                shop=shop,
            )
        )
        chat = gr.Chatbot(
            label=t("{shop} assistant", shop=shop),
            height=520,
            sanitize_html=True,
            render_markdown=True,
            elem_id="chat",
            feedback_options=("Like", "Dislike"),  # Gradio's keys for its thumbs, labelled by Gradio itself
            placeholder=t("Hi! How can we help you today?"),
        )
        chips = gr.Dataset(
            components=[gr.Textbox(visible=False)],
            samples=[],
            label=t("Did you mean"),
            visible=False,
            elem_id="suggestions",
        )
        with gr.Row():
            box = gr.Textbox(
                placeholder=t("Type your question and press Enter"),
                show_label=False,
                scale=8,
                elem_id="message",
                max_length=bot.settings.max_input_chars,
            )
            send = gr.Button(t("Send"), variant="primary", scale=1, elem_id="send")
        with gr.Row():
            person = gr.Button(bot.person_label, variant="secondary", size="sm", elem_id="talk-to-person")
        with gr.Accordion(t("Why this answer"), open=False, visible=show_trace, elem_id="trace-panel"):
            trace = gr.JSON(label=t("trace"))
        if bot.domain.examples:
            gr.Examples(list(bot.domain.examples), inputs=box, label=t("Try"))
        outputs = [box, chat, turns, session, chips, trace]
        state = [chat, turns, session]
        box.submit(respond, [box, *state], outputs, api_visibility="private")
        send.click(respond, [box, *state], outputs, api_visibility="private")
        chips.click(choose, [chips, *state], outputs, api_visibility="private")
        person.click(talk_to_person, state, outputs, api_visibility="private")
        chat.like(feedback, [turns], None, api_visibility="private")

        def chat_api(message: str, session_id: str = "", request: gr.Request = None) -> dict:
            """One chat turn for programs (gradio_client): the reply, its route and suggestions."""
            wait = limits.wait(_client(request), session_id or None)
            reply = slow_down(wait, t) if wait else bot.reply(session_id or None, message)
            return {k: v for k, v in reply.to_dict().items() if k != "trace"}

        gr.api(chat_api, api_name="chat")
    demo.queue(default_concurrency_limit=bot.settings.queue_concurrency, max_size=bot.settings.queue_size)
    return demo


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


class BodyLimit:
    """Refuses a request body over ``max_bytes`` under ``paths`` with 413, before the app
    parses it: by its Content-Length, or by counting when it comes without one (chunked)."""

    def __init__(self, app, max_bytes: int, paths: tuple[str, ...] = ("/api/chat",)):
        self.app, self.max_bytes, self.paths = app, max_bytes, paths

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].endswith(self.paths):
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.max_bytes:
                return await self._refuse(send)
            return await self.app(scope, receive, send)
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                return await self._refuse(send)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send) -> None:
        text = f'{{"detail": "the request body is larger than {self.max_bytes // 1024} KB"}}'.encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(text)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": text})


class ConsoleNotFramed:
    """The console may not be shown inside another site's frame (clickjacking); the public
    chat may, that is how it is embedded."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not ("/admin/" in path or path.endswith("/admin")):
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-frame-options", b"DENY"),
                    (b"content-security-policy", b"frame-ancestors 'none'"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def build_server(bot: Bot, console: Console | None = None, auth: AdminAuth | None = None) -> FastAPI:
    """The FastAPI app: the JSON API, the health check, the console at ``/admin`` (with
    ``auth``) and the public chat at ``/``."""
    server = FastAPI(title=f"{bot.domain.variables.get('shop_name', 'Support')} bot", docs_url="/api/docs")
    origins = bot.settings.origins
    if origins:  # other sites that may call /api/chat from the browser (the iframe needs no CORS)
        server.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["content-type"],
        )

    t = translator(bot.settings.language)
    server.add_middleware(ConsoleNotFramed)
    server.add_middleware(BodyLimit, max_bytes=bot.settings.max_request_kb * 1024)
    limits = Limits(bot.settings)
    in_flight = threading.BoundedSemaphore(bot.settings.queue_concurrency + bot.settings.queue_size)

    @server.post("/api/chat", response_model=ChatResponse)
    def chat(request: ChatRequest, http: Request):
        """One chat turn. Example: ``curl -X POST localhost:7860/api/chat -H 'content-type: application/json'
        -d '{"session_id": "abc", "message": "where is my order A-12345?"}'``"""
        wait = limits.wait(http.client.host if http.client else None, request.session_id or None)
        if wait:
            limited = slow_down(wait, t)
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
        session = bot.session(request.session_id or None)
        try:
            reply = bot.reply(session, request.message)
        except Exception:  # logged in full here, never shown to the customer
            log.exception("the bot failed on an API message")
            return JSONResponse(
                status_code=500,
                content={"session_id": session.id, "reply": bot.domain.render("server_error"), "route": "error"},
            )
        finally:
            in_flight.release()
        return ChatResponse(
            session_id=session.id,
            reply=reply.text,
            route=reply.route,
            intent=reply.intent,
            confidence=round(reply.confidence, 4),
            suggestions=reply.suggestions,
            sources=reply.sources,
            turn_id=reply.turn_id,
        )

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

    @server.get("/widget.json", include_in_schema=False)
    def widget() -> JSONResponse:
        """The words of the chat widget on another site's page (``assets/embed.html``), in the
        bot's language: that page is the shop's own and cannot know which language the bot speaks."""
        shop = bot.domain.variables.get("shop_name") or t("Customer service")
        words = {
            "language": bot.settings.language,
            "open": t("Chat with us"),
            "title": t("{shop} support chat", shop=shop),
        }
        return JSONResponse(words, headers={"access-control-allow-origin": "*", "cache-control": "max-age=300"})

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

    if console is not None:
        if auth is None:
            raise ValueError("the console needs an AdminAuth: it is never served without a login")
        server = gr.mount_gradio_app(
            server,
            build_console(console, build_app(bot, show_trace=True, limits=Limits.off())),
            path="/admin",
            auth=auth,
            auth_message=t("Operator console: sign in with the admin user and password."),
            show_error=False,
            max_file_size=bot.settings.max_upload_mb * 2**20,
            footer_links=["settings"],
        )
    return gr.mount_gradio_app(
        server, build_app(bot, limits=limits), path="/", show_error=False, footer_links=["settings"]
    )


def limit_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives threads that allocate at the same time heaps of their own ("arenas"), up to
    8 per core, and each keeps the memory it freed. Every worker thread that leads a model batch
    would hold tensor memory in its own arena: the resident memory of a server under load grew
    from 0.6 to 1.6 GB. Two arenas keep it near the idle figure (benchmarks/load.py)."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").mallopt(-8, arenas)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass  # not glibc (macOS, musl): nothing to do


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the customer-service chat and the operator console.")
    parser.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default 7860)")
    parser.add_argument("--root-path", default="", help="URL prefix when served behind a proxy, e.g. /support")
    parser.add_argument("--config", default=None, help="a chatbot.toml settings file")
    args = parser.parse_args(argv)
    limit_malloc_arenas()
    # The thread leading a model batch needs the GIL back between tensor operations while up to
    # 32 request threads run Python; with the default 5 ms switch interval it waits behind them.
    # 0.5 ms: +7% turns/s (median) and a lower p95 at 32 clients in 4 of 4 paired runs of
    # benchmarks/load.py, a single client unchanged.
    sys.setswitchinterval(0.0005)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = Settings.load(args.config, **overrides)
    bot = load_bot(settings)
    auth = AdminAuth(bot.store, settings.admin_user, settings.admin_password)
    import uvicorn

    url = f"http://{settings.host}:{settings.port}{args.root_path}"
    log.info("serving the chat on %s/ and the operator console on %s/admin/", url, url)
    console = Console(bot, bot.store)
    if settings.follow_disk_seconds > 0:  # admin commands run beside this server take effect here too
        console.follow_disk(settings.follow_disk_seconds)
    uvicorn.run(
        build_server(bot, console, auth),
        host=settings.host,
        port=settings.port,
        root_path=args.root_path,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
