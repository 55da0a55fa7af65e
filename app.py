"""The bot's web server: ``python app.py [--host 127.0.0.1] [--port 7860] [--root-path /bot]``.

One FastAPI app in one process:

- ``/``            the public chat (Gradio), one session per browser tab
- ``/api/chat``    JSON ``{session_id, message}`` -> ``{reply, route, intent, confidence, suggestions, sources}``
- ``/healthz``     liveness and what is serving

This file holds no business logic: each message goes to ``chatbot.Bot.reply``. On first start
the default model is trained (progress in the terminal) and cached in the data folder.
"""

from __future__ import annotations

import argparse
import logging
import os
import uuid

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402
from pydantic import BaseModel, Field  # noqa: E402

from chatbot import Bot, Settings  # noqa: E402

log = logging.getLogger("app")
SORRY = "Sorry, something went wrong on our side. Please try again in a moment."
EXAMPLES = [
    "Where is my order A-12345?",
    "How long does delivery take to Germany?",
    "Is the Fjord linen duvet cover machine washable?",
    "I want to return a chair",
    "Can I talk to a person?",
]


def build_app(bot: Bot) -> gr.Blocks:
    """The public chat page: one session per browser tab, suggestions as clickable chips.
    The queue bounds concurrent turns and waiting ones, so a burst gets a busy message, not a hang."""
    shop = bot.domain.variables.get("shop_name", "Customer service")

    def respond(message: str, history: list, session_id: str | None):
        session_id = session_id or uuid.uuid4().hex
        try:
            reply = bot.reply(session_id, message)
            text, suggestions = reply.text, reply.suggestions
        except Exception:  # a polite answer, never a stack trace, for the customer
            log.exception("the bot failed on a message")
            text, suggestions = SORRY, []
        history = [*history, {"role": "user", "content": message}, {"role": "assistant", "content": text}]
        chips = gr.Dataset(samples=[[s] for s in suggestions], visible=bool(suggestions))
        return "", history, session_id, chips

    with gr.Blocks(title=f"{shop} assistant", fill_height=True) as demo:
        session = gr.State(None)
        gr.Markdown(f"### {shop} customer service\nAsk about orders, deliveries, returns, payments or our products.")
        chat = gr.Chatbot(label=f"{shop} assistant", height=460, sanitize_html=True, elem_id="chat")
        chips = gr.Dataset(
            components=[gr.Textbox(visible=False)],
            samples=[],
            label="Did you mean",
            visible=False,
            elem_id="suggestions",
        )
        with gr.Row():
            box = gr.Textbox(
                placeholder="Type your question and press Enter", show_label=False, scale=8, elem_id="message"
            )
            send = gr.Button("Send", variant="primary", scale=1)
        gr.Examples(EXAMPLES, inputs=box, label="Try")
        outputs = [box, chat, session, chips]
        box.submit(respond, [box, chat, session], outputs, api_visibility="private")
        send.click(respond, [box, chat, session], outputs, api_visibility="private")
        chips.click(
            lambda sample, h, s: respond(sample[0], h, s), [chips, chat, session], outputs, api_visibility="private"
        )

        def chat_api(message: str, session_id: str = "") -> dict:
            """One chat turn for programs (gradio_client): the reply, its route and suggestions."""
            reply = bot.reply(session_id or None, message)
            return {k: v for k, v in reply.to_dict().items() if k != "trace"}

        gr.api(chat_api, api_name="chat")
    demo.queue(default_concurrency_limit=4, max_size=64)
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


def build_server(bot: Bot) -> FastAPI:
    """The FastAPI app: the JSON API, the health check, and the Gradio chat mounted at ``/``."""
    server = FastAPI(title=f"{bot.domain.variables.get('shop_name', 'Support')} bot", docs_url="/api/docs")

    @server.post("/api/chat", response_model=ChatResponse)
    def chat(request: ChatRequest):
        """One chat turn. Example: ``curl -X POST localhost:7860/api/chat -H 'content-type: application/json'
        -d '{"session_id": "abc", "message": "where is my order A-12345?"}'``"""
        session = bot.session(request.session_id or None)
        try:
            reply = bot.reply(session, request.message)
        except Exception:  # logged in full here, never shown to the customer
            log.exception("the bot failed on an API message")
            return JSONResponse(status_code=500, content={"session_id": session.id, "reply": SORRY, "route": "error"})
        return ChatResponse(
            session_id=session.id,
            reply=reply.text,
            route=reply.route,
            intent=reply.intent,
            confidence=round(reply.confidence, 4),
            suggestions=reply.suggestions,
            sources=reply.sources,
        )

    @server.get("/healthz")
    def healthz() -> dict:
        return {
            "status": "ok",
            "model_created_at": bot.classifier.version.get("created_at"),
            "intents": len(bot.classifier.labels),
            "faq_entries": len(bot.faq),
            "device": str(bot.classifier.encoder.device),
        }

    return gr.mount_gradio_app(server, build_app(bot), path="/", show_error=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the customer-service chat.")
    parser.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default 7860)")
    parser.add_argument("--root-path", default="", help="URL prefix when served behind a proxy, e.g. /support")
    parser.add_argument("--config", default=None, help="a chatbot.toml settings file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = Settings.load(args.config, **overrides)
    bot = Bot.from_settings(settings)
    import uvicorn

    log.info("serving on http://%s:%d%s/", settings.host, settings.port, args.root_path)
    uvicorn.run(
        build_server(bot), host=settings.host, port=settings.port, root_path=args.root_path, log_level="warning"
    )


if __name__ == "__main__":
    main()
