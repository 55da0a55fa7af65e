"""The chat page, the widget and the console in the bot's language (chatbot.i18n).

The translation files are kept complete by reading the code: every literal passed to ``t(...)``
in the page's sources has a Chinese entry with the same placeholders, and no entry is unused.
"""

from __future__ import annotations

import ast
import re
import shutil

import pytest

from chatbot.i18n import UiTextError, load_catalog, placeholders, then, translator, ui_file
from tests.conftest import PROJECT, ZH_CONSOLE_TABS

SOURCES = [PROJECT / "app.py", *sorted((PROJECT / "chatbot" / "console_page").glob("*.py"))]
TRANSLATED = ["zh"]  # the languages with a ui.yaml; English is the source text itself


def translated_literals() -> dict[str, str]:
    """Every text the sources pass to ``t(...)``, with where it is first used; a call whose text
    is not a literal (``t(f"...")``, ``t(name)``) is a failure, since no file could hold it."""
    found: dict[str, str] = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "t":
                where = f"{path.relative_to(PROJECT)}:{node.lineno}"
                first = node.args[0] if node.args else None
                assert isinstance(first, ast.Constant) and isinstance(first.value, str), (
                    f"{where}: t() needs a literal text, so that it can be translated ahead"
                )
                found.setdefault(first.value, where)
    return found


def test_the_sources_translate_their_words():
    texts = translated_literals()
    assert len(texts) > 100, "the scan found too few texts: was t renamed?"
    assert {"Send", "Operator console", "Review queue"} <= set(texts)


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_text_has_a_translation_with_the_same_placeholders(language):
    catalog = load_catalog(ui_file(language))
    texts = translated_literals()
    missing = [f"{where}: {text!r}" for text, where in texts.items() if text not in catalog]
    assert not missing, f"{ui_file(language)} lacks {len(missing)} text(s):\n" + "\n".join(missing)
    different = [
        f"{texts[text]}: {text!r} has {placeholders(text)}, the translation {placeholders(catalog[text])}"
        for text in texts
        if placeholders(text) != placeholders(catalog[text])
    ]
    assert not different, "\n".join(different)


@pytest.mark.parametrize("language", TRANSLATED)
def test_no_translation_is_unused(language):
    unused = sorted(set(load_catalog(ui_file(language))) - set(translated_literals()))
    assert not unused, f"{ui_file(language)} has entries no code uses: {unused}"


def test_english_needs_no_file_and_chinese_is_read_once():
    assert not ui_file("en").exists()  # the source text is the English
    en = translator("en")
    assert en("Send") == "Send" and en("{n} turns", n=3) == "3 turns"
    zh = translator("zh")
    assert zh("Send") == "发送"
    assert zh("{shop} assistant", shop="港湾好物") == "港湾好物智能客服"
    assert zh("{shop} assistant").format(shop="港湾好物") == "港湾好物智能客服"  # unformatted without values
    assert zh("a text no file has") == "a text no file has"  # English at run time, the test above fails
    assert translator("zh").catalog is zh.catalog
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        translator("fr")


@pytest.mark.parametrize(
    "content, problem",
    [
        ('"Send": "发送\n', "invalid YAML"),
        ("- Send\n- 发送\n", "expected a mapping"),
        ('"Send": 5\n', "'Send': the translation must be non-empty text, not 5"),
        ('"Send": ""\n', "the translation must be non-empty text"),
        ('"{n} turns": "{count} 轮"\n', "the translation has placeholders ['{count}'], the English text ['{n}']"),
        ('"{n} turns": "{n 轮"\n', "'{n} turns': "),
    ],
)
def test_a_malformed_file_is_refused_clearly(tmp_path, content, problem):
    path = tmp_path / "ui.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UiTextError) as caught:
        load_catalog(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)


def test_every_problem_is_reported_at_once(tmp_path):
    path = tmp_path / "ui.yaml"
    path.write_text('"Send": 1\n"Try": null\n"{n} turns": "{m} 轮"\n', encoding="utf-8")
    with pytest.raises(UiTextError) as caught:
        load_catalog(path)
    assert len(caught.value.problems) == 3


def test_placeholders_compare_fields_and_their_formats():
    assert placeholders("{b} and {a:.1f}%") == ["{a:.1f}", "{b}"]
    assert placeholders("**{n}**, {n}") == ["{n}", "{n}"]
    assert placeholders("no fields") == []


def test_sentences_follow_each_other_as_the_language_writes_them():
    assert then(translator("en"), "Applied.", "Adapting.") == "Applied. Adapting."
    assert then(translator("zh"), "已应用。", "正在适配。") == "已应用。正在适配。"
    assert then(translator("en"), "", "Adapting.") == "Adapting."


def test_the_rate_limit_reply_speaks_the_bots_language():
    from app import slow_down

    assert slow_down(2.5).text.startswith("You're sending messages faster")
    reply = slow_down(2.5, translator("zh"))
    assert "秒" in reply.text and "3" in reply.text and reply.route == "rate_limited"


# Words that stay as they are in Chinese: file formats and a metric.
KEPT = {"CSV", "TSV", "JSON", "JSONL", "XLSX", "Markdown", "PDF", "DOCX", "HTML", "F1", "hit"}
SHOWN = ("label", "placeholder", "value", "title", "info", "x", "y", "x_title", "y_title")


def english_left(blocks, data: tuple[str, ...]) -> list[str]:
    """The English words in what a Blocks shows before anything happens (labels, placeholders,
    Markdown, buttons, tab names, plot titles, the page title), leaving out ``data``."""
    config = blocks.get_config_file()
    shown = [("page title", config.get("title") or "")]
    for component in config["components"]:
        if component["type"] == "api":  # gr.api's parameters: for programs, not shown
            continue
        props = component.get("props", {})
        keys = [key for key in SHOWN if not (component["type"] == "dropdown" and key == "value")]  # a choice's key
        shown += [(f"{component['type']}.{key}", props[key]) for key in keys if isinstance(props.get(key), str)]
    left = []
    for where, text in shown:
        for value in data:
            text = text.replace(value, "")
        text = text.replace("intents.yaml", "")
        words = [w for w in re.findall(r"[A-Za-z]{2,}", text) if w not in KEPT]
        if words:
            left.append(f"{where}: {text!r}")
    return left


@pytest.fixture
def chinese_console(default_bot, tmp_path):
    """The default model's bot with ``language=zh``: its page and console in Chinese (its intents,
    FAQ and examples stay the English domain's, which is data)."""
    from chatbot import Bot
    from chatbot.admin import Console
    from chatbot.store import Store

    data = tmp_path / "data"
    shutil.copytree(default_bot.settings.data_path / "models", data / "models")
    settings = default_bot.settings.replace(language="zh", data_dir=str(data))
    store = Store(data / "chatbot.db")
    bot = Bot(settings, default_bot.domain, default_bot.classifier, default_bot.faq, store, default_bot.model_version)
    return Console(bot, bot.store)


def test_no_english_word_is_left_on_the_chinese_page_and_console(chinese_console):
    from app import build_app
    from chatbot.console_page import build_console

    bot = chinese_console.bot
    data = (bot.domain.variables["shop_name"], bot.person_label, *bot.domain.examples)
    page = build_app(bot, show_trace=True)
    assert english_left(page, data) == []
    console = build_console(chinese_console, build_app(bot, show_trace=True))
    assert english_left(console, data) == []
    config = console.get_config_file()
    tabs = [c["props"]["label"] for c in config["components"] if c["type"] == "tabitem"]
    assert tabs == list(ZH_CONSOLE_TABS)


def test_the_english_page_is_all_english(default_bot):
    from app import build_app

    config = build_app(default_bot).get_config_file()
    shown = [c.get("props", {}).get(key) for c in config["components"] for key in SHOWN]
    assert not [text for text in shown if isinstance(text, str) and re.search(r"[\u4e00-\u9fff]", text)]
    assert "Send" in shown
