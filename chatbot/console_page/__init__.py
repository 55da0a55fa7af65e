"""The operator console page (Gradio), served at ``/admin`` behind the login.

Only layout and wiring live here, one function per tab (``knowledge``: FAQ; ``documents``:
help-centre documents; ``training``: training, versions; ``customers``: traffic, review, themes;
``live``: the live queue and the chat with a customer; ``audit``, ``accounts``); every action is a
``Console`` method, so the CLI and the tests do exactly what a click does. Every event is
private: none appears in the Gradio API. Every word is English source text passed to ``t``
(``chatbot.i18n``), shown in the bot's language; intents, FAQ ids, versions and what customers
wrote are shown as they are.
"""

from __future__ import annotations

import gradio as gr

from chatbot.admin import Console
from chatbot.admin.users import Permission
from chatbot.console_page.accounts import accounts_tab
from chatbot.console_page.audit import audit_tab
from chatbot.console_page.charts import (
    confusion_figure,
    continual_summary,
    counts_plot,
    per_intent_f1_frame,
    themes_frame,
)
from chatbot.console_page.common import PRIVATE, Tab, guarded
from chatbot.console_page.customers import review_tab, themes_tab, traffic_tab
from chatbot.console_page.documents import documents_tab
from chatbot.console_page.knowledge import faq_tab
from chatbot.console_page.live import live_tab
from chatbot.console_page.training import training_tab, versions_tab
from chatbot.i18n import translator

TAB_PERMISSIONS: dict[str, Permission] = {
    "traffic": "traffic",
    "live": "live",
    "faq": "faq",
    "documents": "faq",
    "training": "training",
    "versions": "versions",
    "review": "review",
    "themes": "training",
    "audit": "audit",
    "accounts": "users",
}
"""What each tab needs (``chatbot.admin.users.ROLE_PERMISSIONS`` says which roles have it); the
"Try the bot" tab is the public chat, open to every signed-in role."""


def build_console(console: Console, preview_chat: gr.Blocks | None = None) -> gr.Blocks:
    """The page: one function per tab, each wiring its own components to ``Console`` methods.
    Each tab's events check the signed-in user's role on the server at every call
    (``guarded``), and the page shows a user only the tabs the role may use."""
    t = translator(console.settings.language)
    users = console.users
    refusal = t("Your role does not allow this. Ask an admin.")
    with gr.Blocks(title=t("Operator console")) as page:
        gr.Markdown("## " + t("Operator console"))
        tabs: list[tuple[str, gr.Tab, Tab, Permission]] = []
        with gr.Tabs() as container:
            for name, build in TAB_BUILDERS:
                before = set(page.fns)
                tab = build(console)
                permission = TAB_PERMISSIONS[name]
                for key in set(page.fns) - before:  # this tab's events: refused to other roles
                    page.fns[key].fn = guarded(page.fns[key].fn, users, permission, refusal)
                tabs.append((name, container.children[-1], tab, permission))
            if preview_chat is not None:
                with gr.Tab(t("Try the bot"), id="try"):
                    gr.Markdown(t("The public chat, with the *why this answer* panel for operators."))
                    preview_chat.render()

        def load_all(request: gr.Request):
            values, first = [], None
            for name, _, tab, permission in tabs:
                allowed = users.may(request.username, permission)
                values.append(gr.Tab(visible=allowed))
                values += tab.load() if allowed else [gr.update() for _ in tab.outputs]
                first = first or (name if allowed else None)
            # the first tab the role may use; the page's own first tab is selected already, and
            # selecting it again would undo a tab clicked while the page loaded
            opening = gr.Tabs(selected=first) if first and first != tabs[0][0] else gr.update()
            return (*values, opening)

        outputs = [output for _, component, tab, _ in tabs for output in (component, *tab.outputs)] + [container]
        page.load(load_all, None, outputs, **PRIVATE)
    page.queue(default_concurrency_limit=4, max_size=32)
    return page


TAB_BUILDERS = (
    ("traffic", traffic_tab),
    ("live", live_tab),
    ("faq", faq_tab),
    ("documents", documents_tab),
    ("training", training_tab),
    ("versions", versions_tab),
    ("review", review_tab),
    ("themes", themes_tab),
    ("audit", audit_tab),
    ("accounts", accounts_tab),
)

__all__ = [
    "build_console",
    "confusion_figure",
    "continual_summary",
    "counts_plot",
    "per_intent_f1_frame",
    "themes_frame",
]
