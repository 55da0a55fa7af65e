"""The bot's web server: ``python app.py [--host 127.0.0.1] [--port 7860] [--root-path /bot]``.

One FastAPI app in one process:

- ``/``            the public chat (Gradio), one session per browser tab; embeddable (iframe or
                   Gradio's web component)
- ``/admin``       the operator console (Gradio, behind a login)
- ``/api/chat``    JSON ``{session_id, message}`` -> ``{reply, route, intent, confidence, suggestions, sources}``;
                   ``/api/chat/{session_id}/messages`` and ``.../stream``: what a person writes after a handoff
- ``/healthz``     liveness and what is serving
- ``/widget.json`` the embedded widget's words in the bot's language (``assets/embed.html``)

This file holds no business logic: a chat message goes to ``chatbot.Bot``, an operator's action
to ``chatbot.admin.Console``. No admin function is reachable from ``/``, ``/api/chat`` or the
public Gradio API: the console's events live in another Blocks, mounted behind the login.
It assembles the server from ``chatbot.web`` (rate limits, middleware, the HTTP routes, the
chat page's event handlers) and says which path serves what.

Every word of the page is English source text passed to ``t`` (``chatbot.i18n``), shown in the
bot's language (``CHATBOT_LANGUAGE``); what the bot says comes from its ``templates.yaml``.
Those ``t("...")`` calls stay in this file: tests/test_i18n.py reads their literals here (and in
``chatbot/console_page/``) to keep the translation files complete both ways.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402

from chatbot import Bot, Reply, Settings, load_bot  # noqa: E402
from chatbot.admin import AdminAuth, Console  # noqa: E402
from chatbot.console_page import build_console  # noqa: E402
from chatbot.i18n import Translate, translator  # noqa: E402
from chatbot.ratelimit import RateLimiter  # noqa: E402
from chatbot.web import (  # noqa: E402
    NEWS_EVERY_S,
    ChatEvents,
    ChatPage,
    Limits,
    add_chat_api,
    add_health,
    add_live_api,
    add_web_component,
    install_middleware,
)

log = logging.getLogger("app")


def slow_down(wait: float, t: Translate | None = None) -> Reply:
    """The reply to a turn over the rate limit, in the language of ``t`` (English by default).
    The chat page and ``/api/chat`` get it as their ``refuse`` (``chatbot.web.Refuse``)."""
    seconds = RateLimiter.retry_after(wait)
    t = t or translator("en")
    text = t(
        "You're sending messages faster than we can read them. Please wait {seconds} seconds and try again.",
        seconds=seconds,
    )
    return Reply(text, "rate_limited", None, 0.0, trace={"route": "rate_limited", "retry_after": int(seconds)})


def build_app(bot: Bot, show_trace: bool | None = None, limits: Limits | None = None) -> gr.Blocks:
    """The public chat page: one session per browser tab, suggestions as clickable chips,
    thumbs up/down on each answer, a "talk to a person" button, and (for operators) the trace.
    The queue bounds concurrent turns and waiting ones, so a burst gets a busy message, not a hang."""
    t = translator(bot.settings.language)
    shop = bot.domain.variables.get("shop_name") or t("Customer service")
    show_trace = bot.settings.show_trace if show_trace is None else show_trace
    events = ChatEvents(
        bot,
        limits or Limits(bot.settings),
        refuse=lambda wait: slow_down(wait, t),
        thanks=(t("Thanks for the feedback!"), t("Thanks, we'll use this to improve our answers.")),
        show_more=t("Show more"),
    )
    with gr.Blocks(title=t("{shop} assistant", shop=shop), fill_height=True) as demo:
        events.wire(_chat_page(bot, t, shop, show_trace))
        gr.api(events.chat_api, api_name="chat")  # the page's only public endpoint
    demo.queue(default_concurrency_limit=bot.settings.queue_concurrency, max_size=bot.settings.queue_size)
    return demo


def _chat_page(bot: Bot, t: Translate, shop: str, show_trace: bool) -> ChatPage:
    """Lays out the chat page in the open ``gr.Blocks``, in the bot's language."""
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
    news = gr.Timer(NEWS_EVERY_S, active=False)
    return ChatPage(session, turns, chat, chips, box, send, person, trace, news)


def build_server(bot: Bot, console: Console | None = None, auth: AdminAuth | None = None) -> FastAPI:
    """The FastAPI app: the JSON API, the health check, the console at ``/admin`` (with
    ``auth``) and the public chat at ``/``."""
    server = FastAPI(title=f"{bot.domain.variables.get('shop_name', 'Support')} bot", docs_url="/api/docs")
    t = translator(bot.settings.language)
    install_middleware(server, bot.settings)
    limits = Limits(bot.settings)
    add_chat_api(server, bot, limits, refuse=lambda wait: slow_down(wait, t))
    if bot.live is not None:
        add_live_api(server, bot.live)
    add_web_component(server)
    _add_widget_words(server, bot, t)
    add_health(server, bot)
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


def _add_widget_words(server: FastAPI, bot: Bot, t: Translate) -> None:
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
