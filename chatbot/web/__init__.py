"""The web layer's machinery, assembled by ``app.py``: rate limits, ASGI middleware, the HTTP
routes beside the Gradio pages, and what the chat page's events do.

Nothing here holds a word of the page: every ``t("...")`` text stays in ``app.py``, whose
literals tests/test_i18n.py reads to keep the translations complete, and reaches this package
as an argument (the rate-limit reply as ``refuse``, the thanks for feedback). Like the rest of
``chatbot``, nothing here imports ``app``.
"""

from chatbot.web.api import ChatRequest, ChatResponse, add_chat_api, add_health, add_live_api, add_web_component
from chatbot.web.chat import NEWS_EVERY_S, ChatEvents, ChatPage
from chatbot.web.limits import Limits, Refuse
from chatbot.web.middleware import BodyLimit, ConsoleNotFramed, install_middleware

__all__ = [
    "NEWS_EVERY_S",
    "BodyLimit",
    "ChatEvents",
    "ChatPage",
    "ChatRequest",
    "ChatResponse",
    "ConsoleNotFramed",
    "Limits",
    "Refuse",
    "add_chat_api",
    "add_health",
    "add_live_api",
    "add_web_component",
    "install_middleware",
]
