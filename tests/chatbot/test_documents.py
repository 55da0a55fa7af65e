"""Documents as a source of answers, on the default bot: imported, answered from with their
source, replaced, refused when bad, removed, and served again after a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatbot.admin import Console
from chatbot.web.chat import as_text
from retrieval.documents import DocumentError

PROJECT = Path(__file__).resolve().parents[2]

LOYALTY = """# Harbor Club loyalty programme

## Earning points

Members earn one point for every euro spent in our shop. Points appear in your account once the
order has been delivered. Reviews with a photo earn 20 extra points.

## Spending points

Every 100 points are worth a 5 euro voucher. Vouchers can be combined with sale prices but not
with other discount codes. Points expire 24 months after they were earned.

## Membership tiers

Silver members get free standard shipping on every order. Gold membership starts at 1,000 points
a year and adds early access to sales and free gift wrapping.
"""

QUESTION = "what do gold members get"  # neither an intent nor an FAQ entry of the default bot answers it


@pytest.fixture
def console(operator_bot):
    return Console(operator_bot, operator_bot.store)


@pytest.fixture
def loyalty(tmp_path):
    path = tmp_path / "loyalty-club.md"
    path.write_text(LOYALTY, encoding="utf-8")
    return path


def test_a_question_only_a_document_answers_gets_its_sentences_and_source(console, operator_bot, loyalty):
    assert operator_bot.reply(None, QUESTION).route != "document"  # before the import

    result = console.add_documents([loyalty], url="https://help.example.com/club")
    reply = operator_bot.reply(None, QUESTION)

    assert result["added"] == ["loyalty-club"] and result["passages"] == 3
    assert reply.route == "document"
    assert reply.text.startswith("Gold membership starts at 1,000 points a year")
    assert "Silver members" not in reply.text  # the sentence that answers, not the whole passage
    assert reply.text.endswith(
        "Source: Harbor Club loyalty programme > Membership tiers (https://help.example.com/club#membership-tiers)"
    )
    [source] = reply.sources
    assert source["kind"] == "document" and source["passage_id"] == "loyalty-club#3"
    assert source["passage"].startswith("Silver members get free standard shipping")
    assert reply.trace["document"]["passage"] == "loyalty-club#3"
    assert reply.trace["document"]["sentences"] == [1]  # the passage's second sentence


def test_the_same_document_again_replaces_it_and_embeds_only_what_changed(console, operator_bot, loyalty):
    console.add_documents([loyalty])
    loyalty.write_text(LOYALTY.replace("20 extra points", "50 extra points"), encoding="utf-8")

    result = console.add_documents([loyalty])

    assert result["replaced"] == ["loyalty-club"] and result["documents"] == 1
    assert [d["id"] for d in console.documents()] == ["loyalty-club"]
    # one passage changed: its text and the windows holding the changed sentence are embedded again
    assert 1 <= result["embedded_passages"] <= 3
    texts = [p.passage.text for p in operator_bot.documents.search("photo review points", k=3)]
    assert any("50 extra points" in text for text in texts)
    assert not any("20 extra points" in text for text in texts)


def test_a_bad_file_among_good_ones_imports_nothing(console, operator_bot, loyalty, tmp_path):
    console.add_documents([loyalty])
    serving, library = operator_bot.documents, operator_bot.settings.layout.documents.read_bytes()
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "shipping.md").write_text("# Shipping\n\nWe ship to the moon on Tuesdays.\n", encoding="utf-8")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    (folder / "photo.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))

    with pytest.raises(DocumentError) as caught:
        console.add_documents([folder])

    message = str(caught.value)
    assert "empty.txt" in message and "photo.pdf" in message and "shipping.md" not in message
    assert operator_bot.documents is serving
    assert operator_bot.settings.layout.documents.read_bytes() == library


def test_a_document_in_a_language_the_model_cannot_read_is_refused(console, operator_bot, tmp_path):
    path = tmp_path / "会员.md"
    path.write_text(
        "# 会员制度\n\n会员每消费一元积一分。积分在订单送达后到账。金卡会员享受免费礼品包装。\n", encoding="utf-8"
    )

    with pytest.raises(DocumentError, match="unknown to the model"):
        console.add_documents([path])
    assert console.documents() == []


def test_a_document_section_offered_and_picked_is_answered(console, operator_bot, loyalty):
    console.add_documents([loyalty])
    operator_bot.settings = operator_bot.settings.replace(
        document_answer_threshold=0.99, document_suggest_threshold=0.2
    )

    offered = operator_bot.reply("s1", "gold membership")
    picked = operator_bot.reply("s1", "Harbor Club loyalty programme > Membership tiers")

    assert offered.route == "clarify"
    assert "Harbor Club loyalty programme > Membership tiers" in offered.suggestions
    assert picked.route == "document"
    assert picked.text.startswith("Silver members get free standard shipping on every order.")


def test_removed_documents_answer_no_more_and_a_restart_serves_what_is_imported(console, operator_bot, loyalty):
    from chatbot.documents import ensure_passage_index

    console.add_documents([loyalty])
    restarted = ensure_passage_index(operator_bot.settings, operator_bot.faq.encoder, show_progress=False)
    assert restarted is not None and restarted.embedded_rows == 0  # loaded, not embedded again
    assert restarted.thresholds == operator_bot.documents.thresholds

    assert console.remove_documents(["loyalty-club"]) == ["loyalty-club"]
    with pytest.raises(KeyError, match="no-such-doc"):
        console.remove_documents(["no-such-doc"])

    assert operator_bot.documents is None and console.documents() == []
    assert operator_bot.reply(None, QUESTION).route != "document"
    assert ensure_passage_index(operator_bot.settings, operator_bot.faq.encoder, show_progress=False) is None


def test_a_document_answer_with_thumbs_down_can_become_an_faq_entry(console, operator_bot, loyalty):
    console.add_documents([loyalty])
    reply = operator_bot.reply(None, QUESTION)
    operator_bot.store.set_feedback(reply.turn_id, -1)
    [item] = [r for r in console.reviews() if r["turn_id"] == reply.turn_id]

    passage = console.review_passage(item["id"])
    entry = console.review_to_faq(item["id"], QUESTION, passage["text"])

    assert passage["id"] == "loyalty-club#3" and passage["label"] == "Harbor Club loyalty programme > Membership tiers"
    assert operator_bot.reply(None, QUESTION).route == "faq"
    assert any(e.id == entry.id for e in operator_bot.faq.entries)
    assert item["id"] not in [r["id"] for r in console.reviews()]


def test_the_chat_page_shows_a_documents_words_as_text():
    shown = as_text("<script>alert(1)</script> [click](javascript:alert(2)) *bold*")

    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert "](javascript" not in shown and "\\*bold\\*" in shown


def test_docs_add_from_the_command_line_shows_progress_and_refuses_a_bad_file(
    default_bot, loyalty, tmp_path, monkeypatch, capsys
):
    from chatbot.__main__ import main
    from tests.conftest import copy_earlier_start

    data = copy_earlier_start(default_bot, tmp_path / "data")
    monkeypatch.setenv("CHATBOT_DATA_DIR", str(data))
    monkeypatch.setenv("CHATBOT_ADAPT_EMBEDDER", "false")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")

    assert main(["admin", "docs-add", str(loyalty), str(empty)]) == 2
    refused = capsys.readouterr()
    assert main(["admin", "docs-add", str(loyalty)]) == 0
    added = capsys.readouterr()

    assert "empty.txt" in refused.err and "empty document" in refused.err
    assert "Reading documents" in added.err  # the progress bar
    assert json.loads(added.out.splitlines()[-1])["added"] == ["loyalty-club"]
    library = json.loads((data / "docs" / "documents.json").read_text(encoding="utf-8"))
    assert [d["title"] for d in library["documents"]] == ["Harbor Club loyalty programme"]
