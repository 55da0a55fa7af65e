"""Frustration in Chinese: the Chinese bot's own lexicon (assets/zh/frustration.yaml) on its own.

Table-driven, no model: Chinese terms inside a run of text, negation by characters, clause ends
，。！？, shouting counted on cased letters only, a Chinese phrase said three times, full-width and
traditional characters, emoji, mixed scripts, and the bot's own example questions.
"""

from __future__ import annotations

import pytest
import yaml

from chatbot.frustration import DEFAULT_LEXICON, FrustrationDetector, LexiconError
from tests.conftest import ASSETS

ZH = ASSETS / "zh"
CALM_INTENTS_RATE = 0.02  # share of the bot's own non-complaint example questions allowed to trigger (measured: 1/723)


@pytest.fixture(scope="module")
def zh() -> FrustrationDetector:
    return FrustrationDetector.load(assets_dir=ZH)


@pytest.mark.parametrize(
    ("text", "frustrated"),
    [
        # angry wording inside a run of Chinese text (no word boundaries around 垃圾)
        ("你们真垃圾啊", True),
        ("垃圾服务", True),
        ("气死了", True),
        ("还没发货气死了", True),  # 没 stands two characters before 气死: no negation
        ("受不了，什么破店", True),
        ("没用的垃圾", True),  # 没用 is no negation
        ("你是不是骗子", True),  # 是不是 asks, it does not negate
        ("别敷衍我", True),  # 别/不要 + verb is an angry imperative
        ("不要忽悠我", True),
        ("我不得不投诉了", True),  # double negation
        ("我要投诉", True),
        ("说了多少遍了，不要再发链接", True),
        ("一直不回消息真无语", True),
        # negated cues
        ("我不生气", False),
        ("我一点也不生气，就是问问什么时候发货", False),
        ("我并不是很生气", False),  # 不是 + one character + cue
        ("不是垃圾", False),
        ("这个不是垃圾吧", False),
        ("我没有很失望，只是想问问", False),
        ("不是要投诉，想问下退货流程", False),
        ("我不想投诉，只想快点解决", False),
        ("不会给差评的，放心", False),
        ("不过分吧", False),
        ("不用找人工，我自己看看", False),
        # calm complaints and questions (the complaint intent's job, not a colleague's)
        ("收到的杯子碎了，能换一个吗", False),
        ("东西有点小问题，想退货", False),
        ("衣服尺码不对，怎么换", False),
        ("对这次购物很不满意", False),
        ("我的信号很差，能打电话吗", False),
        ("请问有垃圾桶吗", False),  # the shop sells them
        ("垃圾袋多少钱一卷", False),
        ("这个东西好用得离谱", False),
        ("我不着急，你们慢慢来", False),
        ("订单A-12345的物流到哪了", False),
        # repeated punctuation, full-width or not
        ("到底发不发货？？？", True),
        ("到底什么时候发货！！！", True),
        ("到底发不发货?", False),  # one mild cue alone
        ("为什么？？？", False),  # punctuation alone
        # a phrase said three times
        ("快点快点快点", True),
        ("快点快点快点！！！", True),
        ("人工！人工！人工！", False),  # a calm request, said three times: raised, not enough
        ("哈哈哈哈哈哈", False),
        # full-width and traditional characters
        ("氣死了", True),
        ("我要投訴", True),
        ("說了多少遍了", True),
        ("你們的服務太差了", True),
        ("你是ｓｂ吗", True),
        ("这个ＡＰＰ太卡了", False),
        # emoji
        ("\U0001f621\U0001f621", True),
        ("服务态度太差了\U0001f621", True),
        ("谢谢\U0001f642", False),
        ("好的\U0001f44d", False),
        # mixed scripts
        ("你是sb吗", True),  # a Latin term glued to Chinese characters
        ("usb线有货吗", False),  # ... but not inside a Latin word
        ("你们这个APP真的太垃圾了", True),
        ("我是在跟AI聊天吗", False),  # not "all caps": only the two Latin letters count
        ("用APP下单怎么付款", False),
        ("我要找你们的MANAGER", False),  # a shouted word alone
        ("WHY IS MY ORDER LATE 为什么还没到", True),
        ("", False),
        ("啊" * 5000, False),
    ],
)
def test_chinese_table(zh, text, frustrated):
    result = zh.score(text)
    assert result.frustrated is frustrated, (text, result)
    assert 0.0 <= result.score <= 1.0
    if frustrated:
        assert result.reasons


@pytest.mark.parametrize(
    ("negated", "plain", "reason"),
    [
        ("我不生气", "我生气", "angry wording"),
        ("我并不是很失望", "我很失望", "angry wording"),
        ("不是垃圾", "是垃圾", "angry wording"),
        ("我不想投诉", "我想投诉", "escalation"),
        ("我没有要投诉的意思", "我要投诉的意思", "escalation"),
        ("不需要人工", "需要人工", "asks for a person"),
    ],
)
def test_a_negated_cue_is_not_counted(zh, negated, plain, reason):
    assert reason in zh.score(plain).reasons
    assert reason not in zh.score(negated).reasons


def test_a_clause_end_stops_the_negation(zh):
    assert "angry wording" in zh.score("不是我说，你们真垃圾").reasons  # ，ends the clause of 不是
    assert "angry wording" in zh.score("东西不贵，但是垃圾").reasons
    assert "angry wording" in zh.score("东西不贵但是垃圾").reasons  # 但是 ends a clause too


def test_shouting_counts_cased_letters_only(zh):
    for text in ("我是在跟AI聊天吗", "用APP下单好麻烦", "我在ＶＩＰ群里问过"):
        reasons = zh.score(text).reasons
        assert "all caps" not in reasons and "shouted word" not in reasons, (text, reasons)
    assert "all caps" in zh.score("ＷＨＥＲＥ ＩＳ ＭＹ ＯＲＤＥＲ 我的订单呢").reasons  # full-width capitals shout too
    assert zh.typography["all caps"] == 2.1  # the default weight: no workaround left


def test_a_chinese_phrase_said_three_times_is_a_repeated_word(zh):
    assert zh.score("快点快点快点").matches["repeated word"] == "快点"
    assert zh.score("人工！人工！人工！").matches["repeated word"] == "人工"
    assert zh.score("我说了多少遍了说了多少遍了说了多少遍了").matches["repeated word"] == "说了多少遍了"
    for text in ("快点快点", "哈哈哈哈哈哈", "谢谢谢谢谢谢", "好的，好的"):
        assert "repeated word" not in zh.score(text).reasons, text


def test_the_conversation_counts_in_chinese_too(zh):
    assert zh.score("在吗", previous=["在吗", "在吗"], fallbacks=2).frustrated
    assert not zh.score("好的", previous=["好的", "好的"]).frustrated  # an acknowledgement repeated says nothing


def test_the_chinese_bot_uses_its_own_lexicon_as_the_base(zh, tmp_path):
    assert zh.source == str(ZH / "frustration.yaml")
    assert not zh.score("this is ridiculous").reasons  # the English lexicon is not merged in
    assert FrustrationDetector.load(assets_dir=tmp_path).source == str(DEFAULT_LEXICON)  # no lexicon there
    extra = tmp_path / "extra.yaml"
    extra.write_text("negation:\n  words: [从没]\ngroups:\n  angry wording:\n    terms: [太坑人]\n", encoding="utf-8")
    merged = FrustrationDetector.load(extra, assets_dir=ZH)
    assert merged.source == f"{ZH / 'frustration.yaml'}, {extra}"
    assert "从没" in merged._char_negators.pattern and "没有" in merged._char_negators.pattern  # added, not replaced
    assert not merged.score("我从没生气").reasons


def test_a_number_is_no_negation_word(tmp_path):
    lexicon = tmp_path / "zh.yaml"
    lexicon.write_text("negation:\n  words: [不, 12]\ngroups:\n  g: {weight: 1, terms: [生气]}\n", encoding="utf-8")
    with pytest.raises(LexiconError) as caught:
        FrustrationDetector.from_file(lexicon)
    assert caught.value.problems == [f"{lexicon}: negation.words[1] is 12, not a word; write it as text in quotes"]


def test_the_bots_own_questions_mostly_do_not_trigger(zh):
    """The Chinese bot's example utterances, except the complaint and handoff intents, are calm
    questions: at most 2% may count as frustrated (measured: 1 of 723, 你到底是不是真人)."""
    intents = yaml.safe_load((ZH / "intents.yaml").read_text(encoding="utf-8"))["intents"]
    examples = [
        text
        for name, intent in intents.items()
        if name not in ("complaint", "human_handoff")
        for text in intent.get("examples") or []
    ]
    assert len(examples) > 500
    flagged = [text for text in examples if zh.score(text).frustrated]
    assert len(flagged) <= CALM_INTENTS_RATE * len(examples), flagged
