"""The Gradio chat page on the bot: ``python app.py [--host 127.0.0.1] [--port 7860]``.

This file holds no business logic: each message goes to ``chatbot.Bot.reply`` and the page
shows the reply and its suggestions. On first start the default model is trained (progress
in the terminal) and cached in the data folder; later starts load it.
"""

from __future__ import annotations

import argparse
import logging
import os
import uuid

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gradio as gr  # noqa: E402

from chatbot import Bot, Settings  # noqa: E402

log = logging.getLogger("app")
EXAMPLES = [
    "Where is my order A-12345?",
    "How long does delivery take to Germany?",
    "Is the Fjord linen duvet cover machine washable?",
    "I want to return a chair",
    "Can I talk to a person?",
]


def build_app(bot: Bot) -> gr.Blocks:
    """The public chat page: one session per browser tab, suggestions as clickable chips."""
    shop = bot.domain.variables.get("shop_name", "Customer service")

    def respond(message: str, history: list, session_id: str | None):
        session_id = session_id or uuid.uuid4().hex
        try:
            reply = bot.reply(session_id, message)
            text, suggestions = reply.text, reply.suggestions
        except Exception:  # a polite answer, never a stack trace, for the customer
            log.exception("the bot failed on a message")
            text, suggestions = "Sorry, something went wrong on our side. Please try again in a moment.", []
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
    return demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the customer-service chat.")
    parser.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default 7860)")
    parser.add_argument("--config", default=None, help="a chatbot.toml settings file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = Settings.load(args.config, **overrides)
    bot = Bot.from_settings(settings)
    demo = build_app(bot)
    demo.queue(default_concurrency_limit=4, max_size=64)
    demo.launch(server_name=settings.host, server_port=settings.port, show_error=False)


if __name__ == "__main__":
    main()
