"""Frustration: the detector on its own (table-driven, no model) and wired into ``Bot.reply``."""

from __future__ import annotations

import sys

import pytest

from chatbot.frustration import DEFAULT_LEXICON, FrustrationDetector, LexiconError
from tests.conftest import PROJECT


@pytest.fixture(scope="module")
def detector() -> FrustrationDetector:
    return FrustrationDetector.load()


@pytest.mark.parametrize(
    ("text", "context", "frustrated"),
    [
        ("This is absolutely ridiculous, my order is two weeks late", {}, True),
        ("WHERE IS MY PARCEL, I PAID TWO WEEKS AGO", {}, True),
        ("where is my order?", {}, False),
        ("I'm not angry, just asking when it ships", {}, False),
        ("Is the Fjord duvet cover HG-4471 washable?", {}, False),
        ("I want to speak to a person please", {}, False),  # a calm request is the intent's job
        ("where is my order?", {"fallbacks": 2, "previous": ["where is my order?", "where is my order?"]}, True),
        ("", {}, False),
        ("\U0001f621\U0001f621", {}, True),  # the pouting face is in the lexicon
        ("thanks \U0001f44d\U0001f642", {}, False),
        ("tell me a joke", {}, False),
        ("\u8fd9\u662f\u4ec0\u4e48", {}, False),  # other scripts: no wording cues, no crash
        ("x" * 5000, {}, False),
    ],
)
def test_detector_table(detector, text, context, frustrated):
    result = detector.score(text, **context)
    assert result.frustrated is frustrated, (text, result)
    assert 0.0 <= result.score <= 1.0
    if frustrated:
        assert result.reasons


def test_lexicon_errors_name_the_field(tmp_path):
    bad = tmp_path / "extra.yaml"
    bad.write_text("groups:\n  angry wording:\n    weight: lots\n    terms: [grr]\n")
    with pytest.raises(LexiconError, match=r"groups\.angry wording\.weight"):
        FrustrationDetector.load(bad)
    with pytest.raises(LexiconError, match="threshold"):
        FrustrationDetector.load(threshold=1.5)


def test_no_is_a_negation_word(detector):
    """An unquoted `no` in YAML is the boolean false: the lexicon quotes it, so it negates."""
    assert "no" in detector.negators
    assert not detector.score("no frustration here, just a question").frustrated
    assert detector.score("frustrating, no answer yet").frustrated  # only what follows it


@pytest.mark.parametrize(
    ("yaml_text", "problem"),
    [
        ("negation:\n  words: [not, no]\n", "negation.words[1] is False, not a word: YAML reads an unquoted no"),
        ("typography:\n  acronyms: [ASAP, ON]\n", "typography.acronyms[1] is True, not a word"),
        ("negation:\n  words: [not, 7]\n", "negation.words[1] is 7, not a word; write it as text in quotes"),
    ],
)
def test_words_must_be_written_as_text(tmp_path, yaml_text, problem):
    extra = tmp_path / "extra.yaml"
    extra.write_text(yaml_text)
    with pytest.raises(LexiconError) as caught:
        FrustrationDetector.load(extra)
    (found,) = caught.value.problems
    assert found.startswith(f"{extra}: {problem}"), found


def test_an_extension_adds_to_the_lists_of_words(tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text("negation:\n  words: [nae]\ntypography:\n  acronyms: [ACME]\n")
    detector = FrustrationDetector.load(extra)
    assert {"not", "no", "nae"} <= detector.negators
    assert {"ASAP", "ACME"} <= detector.acronyms
    assert not detector.score("nae angry, just asking").frustrated


def test_the_lexicon_comes_from_the_assets_folder(tmp_path):
    assert FrustrationDetector.load().source == str(DEFAULT_LEXICON)
    assert FrustrationDetector.load(assets_dir=PROJECT / "assets").source == str(DEFAULT_LEXICON)
    assert FrustrationDetector.load(assets_dir=tmp_path).source == str(DEFAULT_LEXICON)  # none there: English
    (tmp_path / "frustration.yaml").write_text("groups:\n  shop words: {weight: 3, terms: [grr]}\n")
    own = FrustrationDetector.load(assets_dir=tmp_path)
    assert own.source == str(tmp_path / "frustration.yaml")
    assert own.score("grr").reasons == ["shop words"] and not own.score("this is ridiculous").reasons


def test_latin_terms_next_to_other_scripts(detector):
    assert detector.score("this is ridiculous\U0001f621").frustrated  # an emoji glued to a word
    assert detector.score("太ridiculous了").frustrated  # Chinese characters are no part of a Latin word
    assert not detector.score("unridiculousness").reasons
    assert detector.score("我要找MANAGER").reasons == ["shouted word"]  # the Latin letters alone shout


def test_held_out_precision_and_recall_stay_measured():
    """The benchmark runs on the held-out split and keeps its precision (recall is reported)."""
    sys.path.insert(0, str(PROJECT))
    from benchmarks.frustration import main

    summary = main(["--timing-rounds", "1"])
    assert summary["split"] == "v2" and summary["n"] >= 200
    assert summary["precision"] >= 0.8 and summary["recall"] >= 0.4, summary


# -- in the bot ----------------------------------------------------------------------------
def test_every_turn_carries_a_frustration_score(default_bot):
    reply = default_bot.reply(None, "how long does delivery take?")
    frustration = reply.trace["frustration"]
    assert frustration["frustrated"] is False and frustration["offered_person"] is False
    assert 0.0 <= frustration["score"] < 0.5
    assert "Talk to a person" not in reply.suggestions
    assert reply.trace["ms"]["frustration"] < 20  # it runs on every turn: stays cheap


def test_frustrated_customer_gets_the_answer_and_an_offer_of_a_person(operator_bot):
    bot = operator_bot
    session = bot.session()
    reply = bot.reply(session, "This is ridiculous!!! How long does delivery take???")
    frustration = reply.trace["frustration"]
    assert frustration["frustrated"] and frustration["offered_person"], reply.trace
    assert "angry wording" in frustration["reasons"]
    assert reply.route != "handoff"  # the question is still answered
    assert reply.suggestions[-1] == "Talk to a person"
    offers = [v for v in bot.domain.templates["frustration_offer"] if reply.text.endswith(" " + v)]
    assert offers, reply.text
    accepted = bot.reply(session, "yes")
    assert accepted.route == "handoff"
    (handoff,) = bot.store.handoffs()
    assert handoff["session_id"] == session.id
    assert handoff["reason"].startswith("frustrated customer: ") and "angry wording" in handoff["reason"]
    assert [line["role"] for line in handoff["transcript"]][:2] == ["user", "agent"]


def test_the_offer_button_hands_over_with_the_detected_intent(operator_bot):
    bot = operator_bot
    session = bot.session()
    assert bot.reply(session, "where is my order A-12345?").intent == "order_status"
    reply = bot.reply(session, "I am SO fed up, it still has not arrived!!!")
    assert reply.trace["frustration"]["offered_person"], reply.trace
    assert bot.reply(session, "Talk to a person").route == "handoff"
    (handoff,) = bot.store.handoffs()
    assert handoff["intent"] not in (None, "human_handoff", "affirm"), handoff


def test_a_declined_offer_is_not_repeated_at_once(default_bot):
    session = default_bot.session()
    first = default_bot.reply(session, "this is a joke, absolutely useless service")
    assert first.trace["frustration"]["offered_person"], first.trace
    assert default_bot.reply(session, "no").route != "handoff"
    again = default_bot.reply(session, "this is ridiculous, how long does delivery take?")
    assert again.trace["frustration"]["frustrated"] and not again.trace["frustration"]["offered_person"]


def test_repeated_failures_raise_the_score(default_bot):
    session = default_bot.session()
    scores = [default_bot.reply(session, text).trace["frustration"]["score"] for text in ["blorp zzz", "qwxz vvv"]]
    assert scores[1] > scores[0]


def test_asking_for_a_person_angrily_hands_over_with_the_reason_in_the_trace(default_bot):
    reply = default_bot.reply(None, "this is useless, I want a real person")
    assert reply.route == "handoff"
    assert reply.trace["frustration"]["frustrated"]
    assert reply.trace["frustration"]["offered_person"] is False  # handed over already
