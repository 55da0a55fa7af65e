"""Entity extraction: a table of messages and the normalised entities they hold, tricky ones included."""

from __future__ import annotations

import time
from datetime import date, datetime

import pytest

from chatbot import Domain, DomainError
from chatbot.entities import Entity, EntityConfigError, EntityExtractor, add_months, parse_amount
from tests.conftest import ASSETS

CONFIG = {
    "order_id": {"pattern": r"\b[A-Z]-\d{5}\b", "ignore_case": True, "normalise": "upper"},
    "ticket": {"pattern": r"\bORD-(?P<value>\d{10})\b", "priority": 1},
    "email": {"kind": "email"},
    "phone": {"kind": "phone", "region": "NL"},
    "amount": {"kind": "money"},
    "date": {"kind": "date"},
    "colour": {"values": {"red": ["crimson", "scarlet"], "dark blue": ["navy"], "grey": "gray"}},
}
EXTRACTOR = EntityExtractor.from_config(CONFIG)
WED = date(2024, 1, 31)  # a Wednesday, and the last day of a month

CASES = [
    # (message, today, [(entity, value), ...] in text order)
    # -- order numbers
    ("where is my order A-12345?", WED, [("order_id", "A-12345")]),
    ("it's a-12345", WED, [("order_id", "A-12345")]),
    ("A-123456 is too long, AB-12345 too", WED, []),
    ("orders A-12345 and B-99999", WED, [("order_id", "A-12345"), ("order_id", "B-99999")]),
    ("🙂 注文 A-12345 です", WED, [("order_id", "A-12345")]),
    # -- a phone number inside an order number is not a phone number
    ("ticket ORD-0612345678 please", WED, [("ticket", "0612345678")]),
    ("order A-0612345678", WED, []),
    ("ref X0612345678", WED, []),
    # -- e-mails
    ("mail John.Doe@Example.COM.", WED, [("email", "John.Doe@example.com")]),
    ("jane+shop@mail.example.co.uk, thanks", WED, [("email", "jane+shop@mail.example.co.uk")]),
    ("not an address: john@localhost or john..x@a.com or @handle", WED, []),
    # -- phones
    ("call me on 06 1234 5678", WED, [("phone", "+31612345678")]),
    ("my number is +44 20 7946 0958", WED, [("phone", "+442079460958")]),
    ("0031 6 12345678 works", WED, [("phone", "+31612345678")]),
    ("12345 is not a phone", WED, []),
    # -- money: symbols, codes, words; thousands and decimal separators both ways
    ("it cost $1,299.50", WED, [("amount", "1299.50 USD")]),
    ("1.299,50 EUR", WED, [("amount", "1299.50 EUR")]),
    ("1,299.50 EUR", WED, [("amount", "1299.50 EUR")]),
    ("€1.299,50", WED, [("amount", "1299.50 EUR")]),
    ("€ 12,50 too much", WED, [("amount", "12.50 EUR")]),
    ("EUR 1,299 for a sofa", WED, [("amount", "1299.00 EUR")]),
    ("refund 12 euros", WED, [("amount", "12.00 EUR")]),
    (
        "£5 and 1'299 CHF and 1,299,000.5 usd",
        WED,
        [("amount", "5.00 GBP"), ("amount", "1299.00 CHF"), ("amount", "1299000.50 USD")],
    ),
    ("¥1,500", WED, [("amount", "1500 JPY")]),
    ("1,2,3 EUR or 12.3456 EUR or 1.299.50 EUR", WED, []),
    ("I have 3 items", WED, []),
    # -- relative dates, across month and year ends and leap days
    ("tomorrow please", date(2024, 1, 31), [("date", "2024-02-01")]),
    ("tomorrow", date(2024, 2, 28), [("date", "2024-02-29")]),
    ("tomorrow", date(2023, 2, 28), [("date", "2023-03-01")]),
    ("yesterday", date(2024, 3, 1), [("date", "2024-02-29")]),
    ("the day after tomorrow", date(2024, 12, 30), [("date", "2025-01-01")]),
    ("the day before yesterday", date(2024, 1, 1), [("date", "2023-12-30")]),
    ("it arrived 3 days ago", date(2024, 3, 2), [("date", "2024-02-28")]),
    ("in 2 weeks", WED, [("date", "2024-02-14")]),
    ("a month ago", date(2024, 3, 31), [("date", "2024-02-29")]),
    ("one year ago", date(2024, 2, 29), [("date", "2023-02-28")]),
    ("next Monday", WED, [("date", "2024-02-05")]),
    ("next wednesday", WED, [("date", "2024-02-07")]),
    ("last Friday", WED, [("date", "2024-01-26")]),
    ("this Wednesday", WED, [("date", "2024-01-31")]),
    ("on Monday", WED, [("date", "2024-01-29")]),  # nearest: 2 days back, not 5 ahead
    ("on Friday", WED, [("date", "2024-02-02")]),
    # -- absolute dates
    ("by 12/31", date(2024, 11, 20), [("date", "2024-12-31")]),
    ("by 12/31", date(2025, 1, 3), [("date", "2024-12-31")]),  # nearest year
    ("31/12/2024", WED, [("date", "2024-12-31")]),
    ("3/5/24", WED, [("date", "2024-03-05")]),
    ("05.03.2024", WED, [("date", "2024-03-05")]),
    ("on 2024-02-29", WED, [("date", "2024-02-29")]),
    ("March 3rd", date(2024, 2, 10), [("date", "2024-03-03")]),
    ("the 3rd of March 2023", WED, [("date", "2023-03-03")]),
    ("Dec 24, 2024", WED, [("date", "2024-12-24")]),
    ("Feb 30, 2023-02-29 and 13/13 are not dates", WED, []),
    ("delivery takes 3-5 days, support is 24/7, May 2024 and may I ask", WED, []),
    # -- value lists with synonyms
    ("a crimson throw", WED, [("colour", "red")]),
    ("Navy or GRAY?", WED, [("colour", "dark blue"), ("colour", "grey")]),
    ("dark  blue", WED, [("colour", "dark blue")]),
    ("reddish and redo are not colours", WED, []),
    # -- several at once
    (
        "I paid $1,299.50 on 12/31 for a-12345, mail me at x@Y.com or call +31 6 12345678",
        date(2025, 1, 2),
        [
            ("amount", "1299.50 USD"),
            ("date", "2024-12-31"),
            ("order_id", "A-12345"),
            ("email", "x@y.com"),
            ("phone", "+31612345678"),
        ],
    ),
    ("", WED, []),
]


@pytest.mark.parametrize(("text", "today", "expected"), CASES, ids=[c[0][:40] or "empty" for c in CASES])
def test_extraction_table(text, today, expected):
    found = EXTRACTOR.extract(text, today=today)
    assert [(e.type, e.value) for e in found] == expected
    for entity in found:
        assert text[entity.start : entity.end] == entity.text
    spans = [(e.start, e.end) for e in found]
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), "spans overlap or are out of order"


def test_entity_carries_its_span():
    [entity] = EXTRACTOR.extract("order a-12345 now", today=WED)
    assert entity == Entity("order_id", "A-12345", "a-12345", 6, 13)


def test_overlaps_longest_then_priority():
    extractor = EntityExtractor.from_config(
        {
            "short": {"pattern": r"\d{4}"},
            "long": {"pattern": r"\d{4}-\d{2}"},
            "low": {"pattern": r"XY\d", "priority": 0},
            "high": {"pattern": r"XY\d", "priority": 5},
        }
    )
    found = extractor.extract("1234-56 and XY7")
    assert [(e.type, e.text) for e in found] == [("long", "1234-56"), ("high", "XY7")]


def test_date_options_prefer_and_order():
    config = {"past": {"kind": "date", "prefer": "past"}, "future": {"kind": "date", "prefer": "future"}}
    past, future = (EntityExtractor.from_config({k: v}) for k, v in config.items())
    assert past.first("since March 3rd", today=date(2024, 2, 10)) == {"past": "2023-03-03"}
    assert future.first("by Jan 5", today=date(2024, 12, 20)) == {"future": "2025-01-05"}
    assert future.first("on Monday", today=WED) == {"future": "2024-02-05"}
    assert past.first("on Friday", today=WED) == {"past": "2024-01-26"}
    dmy = EntityExtractor.from_config({"d": {"kind": "date", "order": "DMY"}})
    assert dmy.first("3/5/2024") == {"d": "2024-05-03"}
    assert dmy.first("12/31/2024") == {"d": "2024-12-31"}  # no 31st month: read the other way


def test_today_may_be_a_datetime_and_defaults_to_the_clock():
    assert EXTRACTOR.first("tomorrow", today=datetime(2024, 1, 31, 23, 59)) == {"date": "2024-02-01"}
    assert EXTRACTOR.first("today") == {"date": date.today().isoformat()}


def test_parse_amount_rules():
    assert parse_amount("1,299.50") == parse_amount("1.299,50") == parse_amount("1299.5")
    assert parse_amount("1,299") == parse_amount("1.299") == 1299
    assert parse_amount("12,5") == parse_amount("12.50")
    assert parse_amount("0,299") is None and parse_amount("1,2,3") is None and parse_amount("12'5") is None


def test_add_months_clamps_to_month_end():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2024, 1, 15), -13) == date(2022, 12, 15)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"x": {"pattern": "("}}, "entities.x.pattern is not a valid regular expression"),
        ({"x": {"kind": "colour"}}, "entities.x.kind is 'colour'; allowed: pattern, values, email, phone, money, date"),
        ({"x": {"kind": "email", "region": "NL"}}, r"entities.x: unknown keys \['region'\]; allowed for kind email"),
        ({"x": {"kind": "phone", "region": "XX"}}, "entities.x.region 'XX'"),
        ({"x": {"pattern": "a", "normalise": "title"}}, "allowed: none, upper, lower"),
        ({"x": {"kind": "date", "prefer": "soon"}}, "allowed: nearest, past, future"),
        ({"x": {"kind": "date", "order": "YMD"}}, "allowed: MDY, DMY"),
        ({"x": {"values": {"red": ["crimson"], "blue": ["Crimson"]}}}, "stands for both 'red' and 'blue'"),
        ({"x": {"values": {}}}, "must be a non-empty mapping"),
        ({"x": {"kind": "pattern"}}, "kind pattern needs 'pattern'"),
        ({"x": {"pattern": "a", "priority": "high"}}, "priority must be an integer"),
        ({"x": {"kind": "money", "symbols": {"kr": "crowns"}}}, "not an ISO 4217 code"),
        ({"x": "a-z"}, "entities.x must be a mapping"),
    ],
)
def test_config_errors_name_the_key_and_the_options(config, message):
    with pytest.raises(EntityConfigError, match=message):
        EntityExtractor.from_config(config)


def test_money_symbols_are_configurable():
    extractor = EntityExtractor.from_config({"m": {"kind": "money", "symbols": {"$": "CAD", "kr": "SEK"}}})
    assert [e.value for e in extractor.extract("$20 or 150 kr")] == ["20.00 CAD", "150.00 SEK"]


def test_default_domain_extracts_normalised_values():
    domain = Domain.load(ASSETS)
    text = "order a-12345: the navy throw, 1.299,50 EUR, arrived yesterday; call 06 1234 5678 or mail Jo@Shop.NL"
    assert domain.extract(text, today=date(2024, 3, 1)) == {
        "order_id": "A-12345",
        "colour": "blue",
        "amount": "1299.50 EUR",
        "date": "2024-02-29",
        "phone": "+31612345678",
        "email": "Jo@shop.nl",
    }
    assert domain.extract("order A-12345 and B-99999") == {"order_id": "A-12345"}  # the first of each
    assert [e.type for e in domain.find_entities("A-12345 and B-99999")] == ["order_id", "order_id"]
    assert {slot.entity for intent in domain.intents.values() for slot in intent.slots} <= set(domain.entities)


def test_domain_reports_entity_errors_with_the_file(tmp_path):
    (tmp_path / "templates.yaml").write_text((ASSETS / "templates.yaml").read_text())
    intents = "entities:\n  order_id:\n    pattern: 'A-\\d+'\n    colour: red\nintents:\n  a: {handler: faq}\n  b: {handler: faq}\n"
    (tmp_path / "intents.yaml").write_text(intents)
    with pytest.raises(DomainError, match=r"intents.yaml: entities.order_id: unknown keys \['colour'\]"):
        Domain.load(tmp_path)


def test_redact_patterns_come_from_the_domain(tmp_path):
    (tmp_path / "templates.yaml").write_text((ASSETS / "templates.yaml").read_text())
    intents = (
        "entities:\n  customer_id: {pattern: 'CU\\d{6}', redact: true}\n  order_id: {pattern: 'A-\\d{5}'}\n"
        "intents:\n  a: {handler: faq}\n  b: {handler: faq}\n"
    )
    (tmp_path / "intents.yaml").write_text(intents)
    domain = Domain.load(tmp_path)
    assert list(domain.redact_patterns) == ["customer_id"]


def test_long_and_odd_input_is_fast_and_safe():
    text = ("where is my order A-12345, I paid 25 EUR yesterday 🙂 " * 200) + "@" * 5000 + "1," * 5000
    started = time.perf_counter()
    found = EXTRACTOR.extract(text, today=WED)
    assert time.perf_counter() - started < 2.0
    assert sum(e.type == "order_id" for e in found) == 200
    assert EXTRACTOR.extract("Привет, مرحبا, 你好 \x00\u200b", today=WED) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on 2024/03/05", [("date", "2024-03-05")]),  # a year first is never MDY or DMY
        ("2024.3.5", [("date", "2024-03-05")]),
        ("2023/02/29 or 2024/3.5", []),
        ("付了EUR 12", [("amount", "12.00 EUR")]),  # codes and words end at Chinese characters too
        ("退12 euros吗", [("amount", "12.00 EUR")]),
        ("打06 1234 5678谢谢", [("phone", "+31612345678")]),
        ("Ａ－１２３４５ and ＄５", [("order_id", "A-12345"), ("amount", "5.00 USD")]),  # full-width, folded
    ],
)
def test_english_rules_next_to_chinese_and_full_width_text(text, expected):
    assert [(e.type, e.value) for e in EXTRACTOR.extract(text, today=WED)] == expected
