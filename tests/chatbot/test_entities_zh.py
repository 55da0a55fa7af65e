"""Chinese entity extraction: the Chinese bot's declarations (assets/zh/intents.yaml) on a table of
messages, tricky ones included (no spaces, full-width forms, traditional characters, mixed scripts).

Full-width letters, digits and punctuation are folded to ASCII before matching (a one-for-one
subset of NFKC; the full-width comma stays), so ``Ａ－１２３４５`` is the order number A-12345 while
``text`` keeps what the customer wrote.
"""

from __future__ import annotations

import time
from datetime import date

import pytest
import yaml

from chatbot import Domain
from chatbot.entities import EntityExtractor, fold_width, glued_to_identifier
from chatbot.entities.text import parse_cn_int
from tests.conftest import ASSETS

ZH_ENTITIES = yaml.safe_load((ASSETS / "zh" / "intents.yaml").read_text(encoding="utf-8"))["entities"]
ZH = EntityExtractor.from_config(ZH_ENTITIES)
WED = date(2024, 1, 31)  # a Wednesday, and the last day of a month; weeks run Monday to Sunday

CASES = [
    # (message, today, [(entity, value), ...] in text order)
    # -- order numbers: glued to Chinese, mixed scripts, full-width
    ("订单A-12345的状态", WED, [("order_id", "A-12345")]),
    ("我的order A-12345到哪了", WED, [("order_id", "A-12345")]),
    ("订单Ａ－１２３４５还没到", WED, [("order_id", "A-12345")]),  # full-width letter, dash, digits
    ("订单（a-12345）🙂", WED, [("order_id", "A-12345")]),
    ("AB-12345、A-123456 都不是", WED, []),
    # -- a phone number inside an order number is not a phone number
    ("订单A-13812345678", WED, []),
    ("单号ORD13812345678", WED, []),
    # -- e-mails end at Chinese characters
    ("我的邮箱是abc@qq.com谢谢", WED, [("email", "abc@qq.com")]),
    ("邮箱：Zhang.San@QQ.COM。", WED, [("email", "Zhang.San@qq.com")]),
    ("邮箱abc＠qq.com", WED, [("email", "abc@qq.com")]),  # full-width ＠
    # -- mainland numbers, glued to Chinese text, in every usual writing
    ("手机号13812345678", WED, [("phone", "+8613812345678")]),
    ("电话13812345678谢谢", WED, [("phone", "+8613812345678")]),
    ("打+86 138 1234 5678", WED, [("phone", "+8613812345678")]),
    ("138-1234-5678", WED, [("phone", "+8613812345678")]),
    ("0086 138 1234 5678", WED, [("phone", "+8613812345678")]),
    ("电话：１３８１２３４５６７８。", WED, [("phone", "+8613812345678")]),  # full-width digits and punctuation
    ("📱13812345678", WED, [("phone", "+8613812345678")]),  # emoji right before
    ("座机010-12345678", WED, [("phone", "+861012345678")]),
    ("号码21234567890", WED, []),  # 11 digits, but no mobile starts with 2
    ("1381234567", WED, []),  # 10 digits
    # -- money: configured symbols, built-in Chinese currency words, magnitudes, numerals, tenths
    ("付了199元", WED, [("amount", "199.00 CNY")]),
    ("¥99.50", WED, [("amount", "99.50 CNY")]),
    ("￥1,299", WED, [("amount", "1299.00 CNY")]),
    ("RMB100", WED, [("amount", "100.00 CNY")]),
    ("人民币1.2万", WED, [("amount", "12000.00 CNY")]),
    ("预算1.2万元", WED, [("amount", "12000.00 CNY")]),
    ("3千块", WED, [("amount", "3000.00 CNY")]),
    ("¥1.5千万", WED, [("amount", "15000000.00 CNY")]),
    ("两百块", WED, [("amount", "200.00 CNY")]),
    ("一百零五元", WED, [("amount", "105.00 CNY")]),
    ("兩百塊", WED, [("amount", "200.00 CNY")]),  # traditional
    ("一块钱", WED, [("amount", "1.00 CNY")]),
    ("5块5", WED, [("amount", "5.50 CNY")]),
    ("两块五毛", WED, [("amount", "2.50 CNY")]),
    ("3元2角", WED, [("amount", "3.20 CNY")]),
    ("5块5的那个", WED, [("amount", "5.50 CNY")]),
    ("100元2件", WED, [("amount", "100.00 CNY")]),  # 2 pieces, not 2 tenths
    ("９９．５元", WED, [("amount", "99.50 CNY")]),  # full-width digits and point
    ("买了3件，50元", WED, [("amount", "50.00 CNY")]),  # the full-width comma is no decimal mark
    ("100美元和50欧元", WED, [("amount", "100.00 USD"), ("amount", "50.00 EUR")]),
    ("5日元", WED, [("amount", "5 JPY")]),
    ("我们一块去", WED, []),  # 一块 is "together"
    ("买两块蛋糕", WED, []),  # 两块 is "two pieces"
    ("💰99元", WED, [("amount", "99.00 CNY")]),
    # -- relative days
    ("今天", WED, [("date", "2024-01-31")]),
    ("明天能到吗", WED, [("date", "2024-02-01")]),
    ("后天", WED, [("date", "2024-02-02")]),
    ("後天", WED, [("date", "2024-02-02")]),  # traditional
    ("大后天", WED, [("date", "2024-02-03")]),
    ("昨天", date(2024, 3, 1), [("date", "2024-02-29")]),
    ("前天", date(2024, 1, 1), [("date", "2023-12-30")]),
    ("大前天", WED, [("date", "2024-01-28")]),
    ("3天前", date(2024, 3, 2), [("date", "2024-02-28")]),
    ("两周后", WED, [("date", "2024-02-14")]),
    ("3个月以后", WED, [("date", "2024-04-30")]),
    ("一年前", date(2024, 2, 29), [("date", "2023-02-28")]),
    ("十天后", WED, [("date", "2024-02-10")]),
    # -- weekdays: bare ones by prefer (nearest), 上/这/下 by calendar week (Monday to Sunday)
    ("周五", WED, [("date", "2024-02-02")]),
    ("周一", WED, [("date", "2024-01-29")]),  # nearest: 2 days back, not 5 ahead
    ("星期天", WED, [("date", "2024-01-28")]),
    ("礼拜天", WED, [("date", "2024-01-28")]),
    ("禮拜天", WED, [("date", "2024-01-28")]),  # traditional
    ("下周一", WED, [("date", "2024-02-05")]),
    ("下周五", WED, [("date", "2024-02-09")]),  # next week's Friday, not the coming one
    ("上周五", WED, [("date", "2024-01-26")]),
    ("这周三", WED, [("date", "2024-01-31")]),
    ("本周三", WED, [("date", "2024-01-31")]),
    ("這週日", WED, [("date", "2024-02-04")]),  # traditional; this week's Sunday is ahead
    ("下个星期二", WED, [("date", "2024-02-06")]),
    ("下下周一", WED, [("date", "2024-02-12")]),
    ("上上周一", WED, [("date", "2024-01-15")]),
    ("一周一次", WED, []),  # "once a week": a number before 周 makes it no weekday
    # -- periods: their first day
    ("下周", WED, [("date", "2024-02-05")]),
    ("上周", WED, [("date", "2024-01-22")]),
    ("上个月", date(2024, 3, 31), [("date", "2024-02-01")]),
    ("上個月", date(2024, 1, 15), [("date", "2023-12-01")]),
    ("下个月", date(2024, 12, 15), [("date", "2025-01-01")]),
    ("本月", WED, [("date", "2024-01-01")]),
    ("去年", WED, [("date", "2023-01-01")]),
    ("2024年3月", WED, [("date", "2024-03-01")]),
    ("这周末", WED, []),  # weekends, month ends: not read
    ("马上月底了", WED, []),  # 马上 is "at once"
    # -- absolute dates
    ("3月5日", WED, [("date", "2024-03-05")]),
    ("3月5号", WED, [("date", "2024-03-05")]),
    ("三月五號", WED, [("date", "2024-03-05")]),  # numerals, traditional 號
    ("十二月二十五日", WED, [("date", "2023-12-25")]),  # nearest year
    ("12月25日", date(2024, 11, 1), [("date", "2024-12-25")]),
    ("2024年3月5日", WED, [("date", "2024-03-05")]),
    ("２０２４年３月５日", WED, [("date", "2024-03-05")]),  # full-width digits
    ("24年3月5日", WED, [("date", "2024-03-05")]),
    ("去年3月5日", WED, [("date", "2023-03-05")]),
    ("2024/3/5", WED, [("date", "2024-03-05")]),
    ("2024.03.05", WED, [("date", "2024-03-05")]),
    ("2023年2月29日", WED, []),  # no such day
    ("单号20240305123", WED, []),  # a date-like number inside a longer digit run
    ("1203月5日", WED, []),
    ("3月5日元旦", WED, [("date", "2024-03-05")]),  # the date is longer than the 5日元 (JPY) inside it
    # -- colours: Chinese synonyms inside Chinese text
    ("有黑色的吗", WED, [("colour", "black")]),
    ("白色T恤", WED, [("colour", "white")]),
    ("炭黑色和米白色", WED, [("colour", "black"), ("colour", "white")]),  # the longest synonym wins
    ("紅色", WED, [("colour", "red")]),
    ("明白了", WED, []),
    # -- several at once
    (
        "订单A-12345昨天付了1.2万元，要黑色的，电话13812345678，邮箱abc@qq.com",
        WED,
        [
            ("order_id", "A-12345"),
            ("date", "2024-01-30"),
            ("amount", "12000.00 CNY"),
            ("colour", "black"),
            ("phone", "+8613812345678"),
            ("email", "abc@qq.com"),
        ],
    ),
    ("你好，在吗？", WED, []),
]


@pytest.mark.parametrize(("text", "today", "expected"), CASES, ids=[c[0][:20] for c in CASES])
def test_chinese_extraction_table(text, today, expected):
    found = ZH.extract(text, today=today)
    assert [(e.type, e.value) for e in found] == expected
    for entity in found:
        assert text[entity.start : entity.end] == entity.text  # what was written, full-width included
    spans = [(e.start, e.end) for e in found]
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), "spans overlap or are out of order"


@pytest.mark.parametrize(
    ("prefer", "text", "expected"),
    [
        ("past", "3月5日", "2023-03-05"),
        ("future", "3月5日", "2024-03-05"),
        ("past", "周五", "2024-01-26"),
        ("future", "周一", "2024-02-05"),
        ("past", "下周五", "2024-02-09"),  # 上/这/下 name the week: prefer does not apply
    ],
)
def test_prefer_applies_to_dates_without_a_year_and_bare_weekdays(prefer, text, expected):
    extractor = EntityExtractor.from_config({"d": {"kind": "date", "prefer": prefer}})
    assert extractor.first(text, today=WED) == {"d": expected}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("要XL的", ["XL"]),  # a Latin synonym next to Chinese
        ("要XXL的", []),  # ... but not inside a longer Latin word
        ("要M码", ["M"]),
        ("加大码", ["XL"]),  # a Chinese synonym
        ("超加大码", ["XL"]),  # ... found inside Chinese text
    ],
)
def test_value_synonyms_have_edges_only_where_latin_meets_latin(text, expected):
    sizes = EntityExtractor.from_config({"size": {"values": {"XL": ["加大码"], "M": ["中码"]}}})
    assert [e.value for e in sizes.extract(text)] == expected


@pytest.mark.parametrize(
    ("text", "start", "end", "glued"),
    [
        ("手机号13812345678谢谢", 3, 14, False),  # Chinese text is no identifier
        ("ORD13812345678", 3, 14, True),
        ("A-13812345678", 2, 13, True),
        ("订-13812345678", 2, 13, False),
        ("13812345678-B", 0, 11, True),
        ("🙂13812345678", 1, 12, False),
        ("é13812345678", 1, 12, True),  # other letters still glue
    ],
)
def test_glued_to_identifier(text, start, end, glued):
    assert glued_to_identifier(text, start, end) is glued


@pytest.mark.parametrize(
    ("numeral", "value"),
    [
        ("十", 10),
        ("十五", 15),
        ("二十一", 21),
        ("两百", 200),
        ("一百零五", 105),
        ("一百一十", 110),
        ("三千五", 3500),  # a last digit counts in the next lower unit
        ("一万二", 12000),
        ("一万二千", 12000),
        ("一亿两千万", 120_000_000),
        ("贰佰", 200),  # financial form
        ("二〇二四", None),  # a digit string, not a numeral
        ("百千", None),
        ("一百十", None),
        ("万", None),
    ],
)
def test_chinese_numerals(numeral, value):
    assert parse_cn_int(numeral) == value


def test_width_folding_keeps_length_and_the_fullwidth_comma():
    text = "Ａ－１２３４５，１３８　＠"
    assert fold_width(text) == "A-12345，138 @"
    assert len(fold_width(text)) == len(text)


def test_default_chinese_domain_extracts_normalised_values():
    domain = Domain.load(ASSETS / "zh")
    text = "订单ａ－１２３４５昨天到的，黑色的不要了，退1.2万元到13812345678，或邮件Zhang@QQ.com"
    assert domain.extract(text, today=date(2024, 3, 1)) == {
        "order_id": "A-12345",
        "date": "2024-02-29",
        "colour": "black",
        "amount": "12000.00 CNY",
        "phone": "+8613812345678",
        "email": "Zhang@qq.com",
    }
    assert {slot.entity for intent in domain.intents.values() for slot in intent.slots} <= set(domain.entities)


def test_long_chinese_input_is_fast():
    text = "订单A-12345昨天付了199元，下周一前能到吗？手机13812345678 🙂 " * 100
    started = time.perf_counter()
    found = ZH.extract(text, today=WED)
    assert time.perf_counter() - started < 2.0
    assert sum(e.type == "order_id" for e in found) == sum(e.type == "phone" for e in found) == 100
