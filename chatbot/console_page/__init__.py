"""The operator console page (Gradio), served at ``/admin`` behind the login.

Only layout and wiring live here, one function per tab (``knowledge``: FAQ; ``training``:
training, versions; ``customers``: traffic, review, themes, handoffs); every action is a
``Console`` method, so the CLI and the tests do exactly what a click does. Every event is
private: none appears in the Gradio API. Every word is English source text passed to ``t``
(``chatbot.i18n``), shown in the bot's language; intents, FAQ ids, versions and what customers
wrote are shown as they are.
"""

from __future__ import annotations

import gradio as gr

from chatbot.admin import Console
from chatbot.console_page.charts import (
    confusion_figure,
    continual_summary,
    counts_plot,
    per_intent_f1_frame,
    themes_frame,
)
from chatbot.console_page.common import PRIVATE
from chatbot.console_page.customers import handoffs_tab, review_tab, themes_tab, traffic_tab
from chatbot.console_page.knowledge import faq_tab
from chatbot.console_page.training import training_tab, versions_tab
from chatbot.i18n import translator


def build_console(console: Console, preview_chat: gr.Blocks | None = None) -> gr.Blocks:
    """The page: one function per tab, each wiring its own components to ``Console`` methods."""
    t = translator(console.settings.language)
    with gr.Blocks(title=t("Operator console")) as page:
        gr.Markdown("## " + t("Operator console"))
        with gr.Tabs():
            tabs = [
                traffic_tab(console),
                faq_tab(console),
                training_tab(console),
                versions_tab(console),
                review_tab(console),
                themes_tab(console),
                handoffs_tab(console),
            ]
            if preview_chat is not None:
                with gr.Tab(t("Try the bot"), id="try"):
                    gr.Markdown(t("The public chat, with the *why this answer* panel for operators."))
                    preview_chat.render()

        def load_all():
            return tuple(value for tab in tabs for value in tab.load())

        page.load(load_all, None, [output for tab in tabs for output in tab.outputs], **PRIVATE)
    page.queue(default_concurrency_limit=4, max_size=32)
    return page


__all__ = [
    "build_console",
    "confusion_figure",
    "continual_summary",
    "counts_plot",
    "per_intent_f1_frame",
    "themes_frame",
]
