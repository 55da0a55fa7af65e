"""The chat lines of public pages whose conversation a person is awaited in or answering.

Two events write such a page's chat: the customer's turn and the timer asking for the person's
news. Each gets the chat as the browser had it when it fired, so if both run at once, the one
that finishes last would wipe out what the other added (the customer's line, or the person's).
While a person is awaited or answering, the lines a page shows are therefore kept here, per
conversation, and both events add to this copy under the conversation's lock: whichever
answers last answers with everything. The copy is dropped when the person is gone from the
conversation (handed back, closed), or beyond ``limit`` conversations (the least recent: its
page then goes on from what the browser shows).

Limit: it is this process's memory, like the page's own state; a page is kept on one replica
(deploy/nginx.conf makes the pages address-sticky).
"""

from __future__ import annotations

import html
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from chatbot.live import LiveChat
from chatbot.store import Message


@dataclass
class _Shown:
    lines: list[dict] | None = None  # None: not known yet (take the browser's)
    cursor: int | None = None  # the last message of the person (or a note) shown
    lock: threading.Lock = field(default_factory=threading.Lock)


class HandedOffChats:
    def __init__(self, live: LiveChat, limit: int = 2000):
        self.live, self.limit = live, limit
        self._chats: OrderedDict[str, _Shown] = OrderedDict()
        self._lock = threading.Lock()

    def after_turn(self, session_id: str, browser: list, added: list, handed_off: bool) -> tuple[list, bool]:
        """The lines to show after a turn that ``added`` lines to the ``browser``'s chat, and
        whether to keep asking for news (``handed_off``: this turn handed the conversation over)."""
        if not handed_off and session_id not in self._chats:
            return [*browser, *added], False
        with self._chat(session_id) as shown:
            lines, listening = self._with_news(session_id, shown, list(browser if shown.lines is None else shown.lines))
            shown.lines = lines = [*lines, *added]  # the news came in while the customer wrote
            return lines, listening

    def news(self, session_id: str, browser: list) -> tuple[list | None, bool]:
        """The lines to show with the person's news (None: nothing new), and whether to keep asking."""
        with self._chat(session_id) as shown:
            before = shown.lines if shown.lines is not None else browser
            lines, listening = self._with_news(session_id, shown, list(before))
            return (None if lines == before else lines), listening

    def _with_news(self, session_id: str, shown: _Shown, lines: list) -> tuple[list, bool]:
        if shown.cursor is None:  # from the handoff on: notes of earlier handoffs are not news
            shown.cursor = self.live.cursor(session_id)
        news = self.live.news(session_id, shown.cursor)
        lines += [{"role": "assistant", "content": person_line(message)} for message in news.messages]
        shown.lines, shown.cursor = lines, news.cursor
        if news.state is None:
            with self._lock:
                self._chats.pop(session_id, None)
        return lines, news.state is not None

    @contextmanager
    def _chat(self, session_id: str) -> Iterator[_Shown]:
        with self._lock:
            shown = self._chats.get(session_id) or _Shown()
            self._chats[session_id] = shown
            self._chats.move_to_end(session_id)
            while len(self._chats) > self.limit:
                self._chats.popitem(last=False)
        with shown.lock:
            yield shown


def person_line(message: Message) -> str:
    """A person's message under their name, or a note in italics; escaped: text, never markup."""
    if message.sender == "system":
        return f"_{html.escape(message.text)}_"
    return f"**{html.escape(message.author or '')}**: {html.escape(message.text)}"
