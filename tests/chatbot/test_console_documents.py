"""The console's documents tab and the review queue's document answers, through their handlers
(what a click runs, without a browser) on a bot of its own: imports with progress, problems and
cancel, removal, and a thumbs-down document answer turned into an FAQ entry."""

from __future__ import annotations

import typing

import gradio as gr
import pytest

from chatbot.admin import Console
from chatbot.console_page.common import route_words
from chatbot.console_page.customers import ReviewHandlers, traffic_tab
from chatbot.console_page.documents import DocumentHandlers
from chatbot.i18n import translator
from chatbot.reply import Route

# A topic the default bot's intents and FAQ do not cover; one passage, so it answers at once.
LOYALTY = (
    "# Loyalty programme\n\n"
    "Gold membership starts at 1,000 points a year and adds early access to sales and free gift wrapping.\n"
)
QUESTION = "what do gold members get"


@pytest.fixture
def console(operator_bot):
    return Console(operator_bot, operator_bot.store)


@pytest.fixture
def handlers(console):
    return DocumentHandlers(console)


@pytest.fixture
def loyalty(tmp_path):
    path = tmp_path / "loyalty.md"
    path.write_text(LOYALTY, encoding="utf-8")
    return path


class Recorder:
    """Stands in for ``gr.Progress``: records what the import reports, and may act on it."""

    def __init__(self, then=None):
        self.calls: list[tuple[float, str]] = []
        self.then = then

    def __call__(self, fraction, desc=None):
        self.calls.append((fraction, desc))
        if self.then is not None:
            self.then()


def listed(handlers) -> list[dict]:
    frame, _ = handlers.documents()
    return [row for row in frame.to_dict("records") if row["id"] != ""]


def test_an_imported_document_is_listed_and_answers_what_only_it_covers(handlers, console, loyalty):
    bot = console.bot
    assert bot.reply("d-0", QUESTION).route != "document"
    progress = Recorder()
    note, frame, pick = handlers.import_documents([str(loyalty)], "", progress=progress)
    assert note == "**1 documents imported, 0 replaced**: 1 passages, 1 embedded."
    assert progress.calls and all(0.0 <= f <= 1.0 for f, _ in progress.calls)
    assert any("loyalty.md" in desc for _, desc in progress.calls)  # the bar names the file it reads
    (row,) = frame.to_dict("records")
    assert row == {"title": "Loyalty programme", "id": "loyalty", "file": "loyalty.md", "link": "", "passages": 1}
    assert pick["choices"] == [("Loyalty programme (loyalty)", "loyalty")]
    reply = bot.reply("d-1", QUESTION)
    assert reply.route == "document" and "free gift wrapping" in reply.text, reply.trace

    link = "https://shop.example/help/loyalty"  # the same file again, now with its address: replaced
    note, frame, _ = handlers.import_documents([str(loyalty)], f" {link} ", progress=Recorder())
    assert note.startswith("**1 documents imported, 1 replaced**")
    assert [r["link"] for r in frame.to_dict("records")] == [link]


def test_a_link_is_used_for_one_file_only(handlers, loyalty, tmp_path):
    other = tmp_path / "points.txt"
    other.write_text("Points expire after two years without a purchase.\n", encoding="utf-8")
    note, *_ = handlers.import_documents([str(loyalty), str(other)], "https://shop.example/x", progress=Recorder())
    assert note.startswith("**2 documents imported, 0 replaced**")
    assert note.endswith("The link was not used: it names one document, and 2 files were uploaded.")
    assert {r["id"]: r["link"] for r in listed(handlers)} == {"loyalty": "", "points": ""}


def test_a_bad_file_beside_a_good_one_imports_nothing_and_says_why(handlers, console, loyalty, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    note, frame, _ = handlers.import_documents([str(loyalty), str(empty)], "", progress=Recorder())
    assert note.startswith("**Not imported: 1 problem(s) to fix first.** The documents served are unchanged.")
    assert "empty.txt" in note and "Traceback" not in note
    assert listed(handlers) == [] and console.documents() == []
    assert console.bot.reply("d-2", QUESTION).route != "document"
    assert handlers.import_documents(None, "", progress=Recorder())[0] == "Choose the files first."


def test_cancel_stops_the_running_import_and_imports_nothing(handlers, console, loyalty):
    assert handlers.cancel_import() == "No import is running."
    said = []
    progress = Recorder(then=lambda: said.append(handlers.cancel_import()))  # pressed while it reads
    note, *_ = handlers.import_documents([str(loyalty)], "", progress=progress)
    assert note == "**Cancelled**: nothing imported."
    assert said[0].startswith("Cancelling: the import stops at the next page it reads")
    assert console.documents() == [] and console.bot.reply("d-3", QUESTION).route != "document"
    note, *_ = handlers.import_documents([str(loyalty)], "", progress=Recorder())  # the next import is not cancelled
    assert note.startswith("**1 documents imported")


def test_a_removed_document_is_no_longer_answered_from(handlers, console, loyalty):
    handlers.import_documents([str(loyalty)], "", progress=Recorder())
    assert console.bot.reply("d-4", QUESTION).route == "document"
    assert handlers.remove_documents([])[0] == "Choose the documents to remove first."
    note, *_ = handlers.remove_documents(["loyalty", "nothing-such"])
    assert note.startswith("**Not changed.**") and "nothing-such" in note and len(listed(handlers)) == 1
    note, frame, pick = handlers.remove_documents(["loyalty"])
    assert note == "Removed: loyalty. The bot no longer answers from them."
    assert listed(handlers) == [] and pick["choices"] == []
    assert console.bot.reply("d-5", QUESTION).route != "document"


def pick(handlers: ReviewHandlers, review_id: int):
    """Selects the review table's row of ``review_id``, as a click does."""
    frame = handlers.reviews()
    row = next(i for i, n in enumerate(frame[handlers.number]) if n == review_id)
    return handlers.pick_review(frame, gr.SelectData(None, {"index": [row, 2], "value": ""}))


def test_a_thumbs_down_document_answer_becomes_an_faq_entry_that_answers_next_time(console, loyalty):
    bot, store = console.bot, console.store
    console.add_documents([loyalty])
    answered = bot.reply("r-1", QUESTION)
    assert answered.route == "document"
    store.set_feedback(answered.turn_id, -1)
    other = bot.reply("r-2", "where is my order A-12345?")  # a thumbs-down that no document answered
    store.set_feedback(other.turn_id, -1)
    items = {r["text"]: r["id"] for r in console.reviews()}
    review_id = items[QUESTION]

    passage = console.review_passage(review_id)
    assert passage["label"] == "Loyalty programme" and "free gift wrapping" in passage["text"]
    assert console.review_passage(items["where is my order A-12345?"]) is None

    handlers = ReviewHandlers(console)
    picked_id, _, _, _, group, source, question, answer = pick(handlers, items["where is my order A-12345?"])
    assert group["visible"] is False
    picked_id, text, _, _, group, source, question, answer = pick(handlers, review_id)
    assert picked_id == review_id and QUESTION in text
    assert group["visible"] is True and source == "The bot answered from **Loyalty programme**."
    assert question["value"] == QUESTION and answer["value"] == passage["text"]

    assert handlers.review_to_faq(review_id, QUESTION, " ")[0] == "Type the question and the answer first."
    note, table, group = handlers.review_to_faq(review_id, question["value"], answer["value"])
    entry = next(e for e in bot.faq.entries if e.question == QUESTION)
    assert note == f"#{review_id} became FAQ entry **{entry.id}** (served now)."
    assert group["visible"] is False and entry.answer == passage["text"]
    assert review_id not in {r["id"] for r in console.reviews()}  # the item is closed
    assert QUESTION not in table.to_string()
    reply = bot.reply("r-3", QUESTION)
    assert reply.route == "faq" and "free gift wrapping" in reply.text, reply.trace

    note, *_ = handlers.review_to_faq(items["where is my order A-12345?"], QUESTION, "Again.")  # the id is taken
    assert note.startswith("**Not saved**:") and "already an FAQ entry" in note


def test_the_routes_chart_names_every_route_in_english_and_chinese(console, loyalty):
    assert set(route_words(translator("en"))) == set(typing.get_args(Route))
    assert route_words(translator("en"))["document"] == "document"
    assert route_words(translator("zh"))["document"] == "文档"
    console.add_documents([loyalty])
    assert console.bot.reply("tr-1", QUESTION).route == "document"
    with gr.Blocks():
        tab = traffic_tab(console)
    *_, routes = tab.load()
    assert "document" in list(routes["value"]["route"])


def test_the_page_guards_the_documents_tab_as_the_faq_tab(console):
    from chatbot.console_page import TAB_PERMISSIONS, build_console

    names = list(TAB_PERMISSIONS)
    assert names[names.index("faq") + 1] == "documents" and TAB_PERMISSIONS["documents"] == "faq"
    page = build_console(console)
    permission = {block_fn.fn.__name__: getattr(block_fn.fn, "__permission__", None) for block_fn in page.fns.values()}
    events = ("import_documents", "cancel_import", "remove_documents")
    assert [permission[name] for name in events] == ["faq"] * len(events)
    assert permission["review_to_faq"] == "review"
    tabs = [c["props"]["label"] for c in page.get_config_file()["components"] if c["type"] == "tabitem"]
    assert tabs[tabs.index("FAQ") + 1] == "Documents"
