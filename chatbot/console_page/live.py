"""The *Live* tab (agents, admins): the queue of handed-off conversations and the chat with the
customer of the one taken.

The queue (newest first, with the waiting time, intent, reason, whether the customer is still
there and an address left for a reply) refreshes every ``QUEUE_EVERY_S`` seconds, the open
conversation every ``VIEW_EVERY_S``: the page asks, as the customer's chat does (the two may be
served by different replicas). Both timers start only for a role that may use the tab. A view
that has not changed since the last tick is not sent again.
"""

from __future__ import annotations

import html
import time

import gradio as gr
import pandas as pd

from chatbot.admin import Console
from chatbot.admin.users import ACTOR
from chatbot.console_page.common import PRIVATE, Tab
from chatbot.i18n import translator
from chatbot.live import Conversation, LiveError, is_gone
from chatbot.store import Taken

QUEUE_EVERY_S = 2.0
VIEW_EVERY_S = 0.5


def live_tab(console: Console) -> Tab:
    handlers = LiveHandlers(console)
    t = handlers.t
    with gr.Tab(t("Live"), id="live"):
        gr.Markdown(
            t(
                "Conversations handed to a person, newest first. Pick one, press **Take**, and your replies"
                " appear in the customer's chat; the bot stays silent and suggests answers only you see."
            )
        )
        table = gr.Dataframe(interactive=False, elem_id="live-queue")
        picked, seen = gr.State(None), gr.State(None)
        with gr.Row():
            take = gr.Button(t("Take"), variant="primary", elem_id="live-take")
            hand_back = gr.Button(t("Hand back to the bot"), elem_id="live-hand-back")
            close = gr.Button(t("Close"), variant="stop", elem_id="live-close")
        note = gr.Markdown(elem_id="live-note")
        chat = gr.Chatbot(label=t("conversation (redacted)"), height=360, sanitize_html=True, elem_id="live-chat")
        with gr.Row():
            draft = gr.Textbox(
                label=t("the bot's suggestion (only you see it)"), interactive=False, scale=8, elem_id="live-draft"
            )
            use_draft = gr.Button(t("Use"), scale=1, elem_id="live-use-draft")
        with gr.Row():
            box = gr.Textbox(
                placeholder=t("Reply to the customer and press Enter"),
                show_label=False,
                scale=8,
                elem_id="live-reply",
                max_length=console.settings.max_input_chars,
            )
            send = gr.Button(t("Send"), variant="primary", scale=1, elem_id="live-send")
        queue_timer, view_timer = gr.Timer(QUEUE_EVERY_S, active=False), gr.Timer(VIEW_EVERY_S, active=False)

        view = [chat, note, draft, seen]
        table.select(handlers.pick, [table], [picked, *view], **PRIVATE)
        take.click(handlers.take, [picked], [table, *view], **PRIVATE)
        hand_back.click(handlers.hand_back, [picked], [table, *view], **PRIVATE)
        close.click(handlers.close, [picked], [table, *view], **PRIVATE)
        box.submit(handlers.send, [picked, box], [box, *view], **PRIVATE)
        send.click(handlers.send, [picked, box], [box, *view], **PRIVATE)
        use_draft.click(handlers.use_draft, [draft], [box], **PRIVATE)
        queue_timer.tick(handlers.queue, None, [table], **PRIVATE)
        view_timer.tick(handlers.refresh, [picked, seen], view, **PRIVATE)
    return Tab(
        [table, queue_timer, view_timer], lambda: (handlers.queue(), gr.Timer(active=True), gr.Timer(active=True))
    )


class LiveHandlers:
    """What the Live tab's events do, as the signed-in person (``ACTOR``); each returns the
    values of its outputs. The view is (chat, note, draft, what was shown)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        t = self.t = translator(console.settings.language)
        self.columns = [
            *(t("id"), t("waiting"), t("status"), t("person"), t("intent"), t("reason"), t("customer"), t("e-mail"))
        ]
        self.words = {"open": t("waiting"), "live": t("live"), "closed": t("closed")}
        self.here, self.gone, self.bot = t("here"), t("gone"), t("bot")
        self.pick_first, self.ended = t("Pick a conversation in the queue first."), t("This conversation has ended.")
        self.problems = {  # chatbot.live.LiveError's cases, in the console's language
            "empty": t("The message is empty."),
            "missing": t("This conversation is no longer in the queue."),
            "not_taken": t("Take the conversation first."),
            "ended": self.ended,
        }

    def queue(self):
        now = time.time()
        rows = [
            dict(
                zip(
                    self.columns,
                    (
                        h["id"],
                        _waited((h["taken_ts"] or now) - h["ts"]),  # until a person took it
                        self.words.get(h["status"], h["status"]),
                        h["agent"] or "",
                        h["intent"] or "",
                        h["reason"],  # the bot's own note (chatbot.bot), stored as written
                        self.gone if is_gone(h, now) else self.here,
                        h["email"] or "",
                    ),
                    strict=True,
                )
            )
            for h in self.console.handoffs()
        ]
        return pd.DataFrame(rows or [dict.fromkeys(self.columns, "")])

    def pick(self, frame: pd.DataFrame, evt: gr.SelectData):
        value = frame.iloc[evt.index[0]][self.columns[0]]
        if value == "":
            return None, [], "", "", None
        return int(value), *self._view(int(value))

    def take(self, handoff_id: int | None):
        t = self.t
        if handoff_id is None:
            return self.queue(), [], self.pick_first, "", None
        try:
            self.console.take_handoff(handoff_id)
        except Taken as exc:
            refusal = (
                t("**{person}** has this conversation already.", person=exc.holder)
                if exc.holder and exc.status == "live"
                else self.ended
            )
            chat, _, draft, seen = self._view(handoff_id)
            return self.queue(), chat, refusal, draft, seen
        return self.queue(), *self._view(handoff_id)

    def send(self, handoff_id: int | None, text: str):
        t = self.t
        if handoff_id is None:
            return text, [], self.pick_first, "", None
        try:
            self.console.send_to_customer(handoff_id, text)
        except LiveError as exc:
            chat, _, draft, seen = self._view(handoff_id)
            return text, chat, t("**Not sent:** {error}", error=self._problem(exc)), draft, seen
        return "", *self._view(handoff_id)

    def hand_back(self, handoff_id: int | None):
        return self._end(handoff_id, self.console.hand_back)

    def close(self, handoff_id: int | None):
        return self._end(handoff_id, self.console.close_handoff)

    def use_draft(self, draft: str):
        return draft

    def refresh(self, handoff_id: int | None, seen):
        """The open conversation, when it changed since ``seen``; else nothing is sent."""
        if handoff_id is None:
            return gr.update(), gr.update(), gr.update(), seen
        view = self._view(handoff_id)
        if view[-1] == seen:
            return gr.update(), gr.update(), gr.update(), seen
        return view

    def _end(self, handoff_id: int | None, action):
        t = self.t
        if handoff_id is None:
            return self.queue(), [], self.pick_first, "", None
        try:
            action(handoff_id)
        except LiveError as exc:
            chat, _, draft, seen = self._view(handoff_id)
            return self.queue(), chat, t("**Not changed:** {error}", error=self._problem(exc)), draft, seen
        return self.queue(), *self._view(handoff_id)

    def _problem(self, error: LiveError) -> str:
        t = self.t
        if error.problem == "someone_else":
            return t("**{person}** is answering this conversation.", person=error.person)
        return self.problems[error.problem]

    def _view(self, handoff_id: int) -> tuple:
        try:
            conversation = self.console.conversation(handoff_id)
        except LiveError as exc:
            return [], self._problem(exc), "", None
        handoff = conversation.handoff
        seen = (handoff["status"], handoff["agent"], conversation.gone, [m.id for m in conversation.messages][-1:])
        return self._lines(conversation), self._note(conversation), conversation.draft or "", list(seen)

    def _lines(self, conversation: Conversation) -> list[dict]:
        """The transcript up to the handoff, then what was said since; all of it as text."""
        lines = [
            {"role": "user" if line["role"] == "user" else "assistant", "content": html.escape(line["text"])}
            for line in conversation.handoff["transcript"]
        ]
        for message in conversation.messages:
            text = html.escape(message.text)
            if message.sender == "customer":
                lines.append({"role": "user", "content": text})
            elif message.sender == "system":
                lines.append({"role": "assistant", "content": f"_{text}_"})
            else:
                name = self.bot if message.sender == "bot" else html.escape(message.author or "")
                lines.append({"role": "assistant", "content": f"**{name}**: {text}"})
        return lines

    def _note(self, conversation: Conversation) -> str:
        handoff, t = conversation.handoff, self.t
        if handoff["status"] == "closed":
            note = self.ended
        elif handoff["status"] == "open":
            note = t("Waiting for a person: press **Take** to answer.")
        elif handoff["agent"] == ACTOR.get():
            note = t("You are answering; the bot is silent.")
        else:
            note = t("**{person}** is answering.", person=handoff["agent"])
        if conversation.gone:
            note += " " + t("The customer has left the chat.")
        if handoff["email"]:
            note += " " + t("Reply address: {email}", email=handoff["email"])
        return note


def _waited(seconds: float) -> str:
    minutes, seconds = divmod(int(max(seconds, 0)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
