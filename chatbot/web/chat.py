"""What the public chat page does: a message through the rate limits to the bot, a picked
suggestion, the "talk to a person" button, thumbs on an answer, the news of a person who takes
the conversation, and the ``chat`` API endpoint for programs (``gradio_client``).
``app.build_app`` lays the page out and wires these to it.

After a handoff the page asks for news every ``NEWS_EVERY_S`` seconds (a ``gr.Timer``, active
only while a person is awaited or answering): what the person writes appears in the same chat,
as text (escaped like the customer's own), under their name. Meanwhile the page's lines are
kept on the server (``chatbot.web.handed_off``), so a turn and the timer answering at the same
moment never undo each other's lines.

Gradio injects ``gr.Request`` and ``gr.LikeData`` by the handlers' type hints, so every name in
their signatures must be importable here at run time (not only under ``TYPE_CHECKING``).
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from chatbot.bot import Bot
from chatbot.reply import Reply, join_sentences
from chatbot.sessions import new_session_id
from chatbot.web.handed_off import HandedOffChats
from chatbot.web.limits import Limits, Refuse

log = logging.getLogger(__name__)

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+|!~])")


def as_text(text: str) -> str:
    """``text`` for a Markdown message, shown as it is: HTML escaped and Markdown's marks
    backslashed, so a document's ``<script>`` or ``[link](javascript:...)`` is only text."""
    return _MARKDOWN.sub(r"\\\1", html.escape(text, quote=False)).replace("\n", "  \n")


NEWS_EVERY_S = 0.5  # how often a handed-off chat asks whether the person wrote


@dataclass
class ChatPage:
    """The components of the chat page that its events read or write."""

    session: gr.State  # the conversation's id, None until the first turn
    turns: gr.State  # {index of an answer in the chat: its logged turn id}, for feedback
    chat: gr.Chatbot
    chips: gr.Dataset  # the suggestions
    box: gr.Textbox
    send: gr.Button
    person: gr.Button
    trace: gr.JSON
    news: gr.Timer  # asks for a person's messages while one is awaited or answering


class ChatEvents:
    """The chat page's event handlers for one ``bot``. A turn the ``limits`` refuse gets the
    ``refuse`` reply and never reaches the model; a turn the bot fails on gets its
    ``server_error`` template, never a stack trace. ``thanks`` are the toasts for a liked and a
    disliked answer; ``show_more`` labels the passage under an answer from a document."""

    def __init__(
        self, bot: Bot, limits: Limits, refuse: Refuse, thanks: tuple[str, str], show_more: str = "Show more"
    ) -> None:
        self.bot, self.limits, self.refuse, self.show_more = bot, limits, refuse, show_more
        self.liked, self.disliked = thanks
        self.handed_off = HandedOffChats(bot.live) if bot.live is not None else None

    def wire(self, page: ChatPage) -> None:
        """Connects the page's events to the handlers; none of them is in the public API."""
        outputs = [page.box, page.chat, page.turns, page.session, page.chips, page.trace, page.news]
        state = [page.chat, page.turns, page.session]
        page.box.submit(self.respond, [page.box, *state], outputs, api_visibility="private")
        page.send.click(self.respond, [page.box, *state], outputs, api_visibility="private")
        page.chips.click(self.choose, [page.chips, *state], outputs, api_visibility="private")
        page.person.click(self.talk_to_person, state, outputs, api_visibility="private")
        page.chat.like(self.feedback, [page.turns], None, api_visibility="private")
        page.news.tick(
            self.news,
            [page.chat, page.session],
            [page.chat, page.news],
            api_visibility="private",
            concurrency_limit=None,  # a quick read: never queued behind turns that run the model
        )

    def _turn(
        self,
        call: Callable[[str], Reply],
        history: list,
        turns: dict,
        session_id: str | None,
        shown_message: str,
    ):
        session_id = session_id or new_session_id()
        try:
            reply = call(session_id)
            text, suggestions, trace = reply.text, reply.suggestions, reply.trace
        except Exception:  # a polite answer, never a stack trace, for the customer
            log.exception("the bot failed on a message")
            reply, text, suggestions, trace = None, self.bot.domain.render("server_error"), [], {"route": "error"}
        shown = html.escape(shown_message)  # the customer's text is shown as text: no markup, no script
        added = [{"role": "user", "content": shown}]
        if reply is not None and reply.route == "document":
            text = self.document_answer(reply)
        if reply is None or reply.route != "live":  # live: a person answers, the bot says nothing
            added.append({"role": "assistant", "content": text})
        listening = False
        if self.handed_off is None:
            history = [*history, *added]
        else:
            handed_off = reply is not None and reply.route in ("handoff", "live", "email")
            history, listening = self.handed_off.after_turn(session_id, history, added, handed_off)
        if reply is not None and reply.turn_id is not None and reply.route != "live":
            index = next(i for i in range(len(history) - 1, -1, -1) if history[i] is added[-1])
            turns = {**turns, str(index): reply.turn_id}
        chips = gr.Dataset(samples=[[s] for s in suggestions], visible=bool(suggestions))
        return "", history, turns, session_id, chips, trace, gr.Timer(active=listening)

    def document_answer(self, reply: Reply) -> str:
        """An answer from a document as the page shows it: the sentences, where they come from
        (linked when the document has a web address), and the whole passage behind *Show more*.
        The document's words are shown as text: no markup of theirs is rendered."""
        source = reply.sources[0]
        where = as_text(source["place"])
        if source["url"].startswith(("https://", "http://")):
            where = f"[{where}](<{source['url'].replace('>', '%3E')}>)"
        return (
            f"{as_text(join_sentences(source['sentences']))}\n\n"
            f"{self.bot.domain.render('document_source', {'source': where})}\n\n"
            f"<details><summary>{html.escape(self.show_more)}</summary>\n\n{as_text(source['passage'])}\n\n</details>"
        )

    def respond(self, message: str, history: list, turns: dict, session_id: str | None, request: gr.Request):
        wait = self.limits.wait_for(request, session_id)
        if wait:  # the customer sees why, and nothing reaches the model
            return self._turn(lambda sid: self.refuse(wait), history, turns, session_id, message)
        return self._turn(lambda sid: self.bot.reply(sid, message), history, turns, session_id, message)

    def choose(self, sample: list, history: list, turns: dict, session_id: str | None, request: gr.Request):
        return self.respond(sample[0], history, turns, session_id, request)

    def talk_to_person(self, history: list, turns: dict, session_id: str | None):
        return self._turn(lambda sid: self.bot.handoff(sid), history, turns, session_id, self.bot.person_label)

    def news(self, history: list, session_id: str | None):
        """The person's news added to the chat (nothing sent when there is none); the asking
        stops once no person is awaited or answering."""
        if self.handed_off is None or not session_id:
            return gr.update(), gr.Timer(active=False)
        lines, listening = self.handed_off.news(session_id, history)
        return (gr.update() if lines is None else lines), gr.Timer(active=listening)

    def feedback(self, data: gr.LikeData, turns: dict):
        turn_id = turns.get(str(data.index[0] if isinstance(data.index, list | tuple) else data.index))
        if turn_id is None or self.bot.store is None or data.liked not in (True, False):
            return
        self.bot.store.set_feedback(turn_id, 1 if data.liked else -1)
        gr.Info(self.liked if data.liked else self.disliked)

    def chat_api(self, message: str, session_id: str = "", request: gr.Request = None) -> dict:
        """One chat turn for programs (gradio_client): the reply, its route and suggestions."""
        wait = self.limits.wait_for(request, session_id or None)
        reply = self.refuse(wait) if wait else self.bot.reply(session_id or None, message)
        return {k: v for k, v in reply.to_dict().items() if k != "trace"}
