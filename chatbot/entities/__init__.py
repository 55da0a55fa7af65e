"""Entities in customer text: order numbers, e-mails, phone numbers, money, dates, operator lists.

The ``entities:`` part of ``assets/intents.yaml`` (and ``assets/zh/intents.yaml``) declares them,
one named entity each, by kind:

- ``pattern``: a regular expression (the named group ``value`` if it has one, else the whole
  match); ``ignore_case``, ``normalise`` (``upper``, ``lower``, ``none``) and ``redact`` (also
  replace it by ``[NAME]`` in logs, see ``Domain.redact_patterns``). ``\\b`` sees no edge between
  a Chinese character and a letter or digit: write ``(?<![A-Za-z0-9])`` ... ``(?!\\d)`` instead.
- ``values``: canonical values with synonyms (``colour: {values: {red: [crimson, scarlet]}}``),
  matched as whole words, case-insensitively unless ``ignore_case: false``; the value is the
  canonical name. A Latin (or digit) edge of a synonym may not touch another letter or digit
  (``red`` is not in ``reddish``); a CJK edge may touch anything, so ``黑色`` is found in
  ``有黑色的吗`` and ``T恤`` in ``白色T恤`` (Chinese has no spaces; ``红`` is also in ``红酒``).
- ``email``: the value keeps the local part and lower-cases the domain. CJK characters end an
  address (``邮箱abc@qq.com谢谢`` holds ``abc@qq.com``), so CJK addresses are not found.
- ``phone``: numbers valid for their country (``phonenumbers``), as E.164 (``+31612345678``);
  ``region`` is the country assumed for numbers written without ``+``/``00`` (``CN``:
  ``13812345678``, ``138-1234-5678``, ``+86 138 1234 5678``, ``0086...`` -> ``+8613812345678``).
  Digits glued to an identifier (``A-0612345678``, ``ORD0612345678``) are not a phone number;
  Chinese text around them is no identifier (``手机号13812345678谢谢``).
- ``money``: an amount with a currency symbol, ISO code or the words euro/dollar, before or after;
  the value is ``"1299.50 EUR"`` (a ``Decimal`` string, then the ISO code). Separators: when both
  ``,`` and ``.`` appear, the last one is the decimal mark (``1,299.50`` and ``1.299,50`` are both
  1299.50); a single ``,`` or ``.`` followed by exactly three digits groups thousands
  (``1,299`` = ``1.299`` = 1299), followed by one or two digits it is the decimal mark
  (``12,50`` = 12.50). ``'`` and non-breaking spaces group thousands; a plain space does not
  (``3 200 EUR`` is 200 EUR). Any other shape (``1,2,3``, ``12.3456``) is rejected. ``symbols``
  maps more symbols or words to codes (the Chinese bot: ``¥ ￥ 元 块 RMB 人民币`` -> CNY).
  Built in: 人民币 CNY, 美元/美金 USD, 欧元 EUR, 英镑 GBP, 日元 JPY, 港币/港元 HKD (and their
  traditional forms). Chinese amounts: a magnitude after the digits (``1.2万元`` 12000.00 CNY,
  ``3千块`` 3000.00 CNY, ``¥1.5千万``; a currency is still needed: ``1.2万`` alone is no amount,
  it may count people); Chinese numerals before a currency (``两百块`` 200.00,
  ``一百零五元`` 105.00); after 元/块 a tenth (``5块5``, ``两块五``, ``3元2角`` -> 5.50, 2.50, 3.20)
  when 角/毛, the end, punctuation or a particle (的吧啊呀吗嘛呢哦了钱) follows (``100元2件`` is
  100.00). ``一块``/``两块`` without 钱 or a tenth are not money (together, two pieces).
- ``date``: ISO dates (``2024-03-05``, ``2024/3/5``, ``2024.3.5``), ``12/31``, ``31/12/2024``,
  ``05.03.2024``, ``March 3rd``, ``3rd of March 2024``, ``today``, ``tomorrow``, ``yesterday``,
  ``the day after tomorrow``, ``3 days ago``, ``in 2 weeks``, ``a month ago``, ``next Monday``,
  ``last Friday``, ``Monday``; the value is an ISO date relative to ``today``. ``order`` (``MDY``
  or ``DMY``) reads ``3/5``; a reading that is no valid date falls back to the other one
  (``31/12`` is always 31 December); dotted dates are always day first. ``prefer`` picks the
  year of a date without one and the week of a bare weekday: ``nearest`` to today (default),
  ``past`` or ``future``. ``next Monday`` is the first Monday after today, ``last Friday`` the
  last one before it, ``this Friday`` today or the coming one. Impossible dates (``Feb 30``,
  ``2023-02-29``) are not entities. Chinese (simplified or traditional):

  - days: 今天/今日/今晚 0, 明天/明日 +1, 后天 +2, 大后天 +3, 昨天/昨日 -1, 前天 -2, 大前天 -3;
    ``3天前``, ``两周后``, ``3个月以后``, ``一年前`` (months need 个: ``3月前`` is no offset).
  - weekdays: 周/週/星期/礼拜/禮拜 + 一..六/日/天. Bare (``周五``) as a bare English weekday
    (``prefer``); with 这/這/本 in this calendar week, 上 the week before, 下 the week after,
    上上/下下 two weeks (weeks run Monday to Sunday: on Wednesday 下周五 is the Friday 9 days on,
    unlike ``next Friday``); ``一周一次`` (a number before 周) is no weekday.
  - periods read as their first day: 上周/下周/这周 the Monday of that week, 上个月/下个月/本月 the
    1st of that month, 去年/今年/明年 1 January, ``2024年3月`` and ``去年3月`` the 1st of March.
    ``月底``/``周末`` are not read.
  - ``3月5日``/``3月5号``/``三月五號`` (year by ``prefer``), ``2024年3月5日``, ``24年3月5日``, ``去年3月5日``.

Before matching, full-width letters, digits and punctuation are folded to ASCII (a subset of
NFKC: one character for one, so spans stay those of the message, and ``text`` is what was
written): ``１３８１２３４５６７８`` is a phone number, ``Ａ－１２３４５`` matches ``[A-Z]-\\d{5}``. The
full-width comma ``，`` stays (a clause separator, never a digit group: ``3，50元`` is 50 CNY).

Overlapping matches are resolved once over all entities: the longest span wins, then the higher
``priority`` (default 0), then the earlier one, so a phone number inside a longer order number is
not a phone number, and ``3月5日`` beats the ``5日元`` (JPY) inside ``3月5日元旦``.

Limits: no times of day, ranges or English periods ("next week", "in March"); fractions such as
"1/2" read as dates ("24/7" does not); Chinese: no bare day or month (``5号``, ``3月份`` may be a
building or a line); ``下周一起`` ("together next week") reads as 下周一; no 分 in amounts, no numeral years
(``二〇二四年``). ``dateparser`` does not find the dates: its ``search_dates`` reads order and
phone numbers as dates and "may" as May, and its year and weekday choices are not ours to
document; fixed rules are deterministic given ``today`` and fast (well under a millisecond per
message).

Layout: ``base`` (Entity, EntitySpec), ``text`` (width folding, CJK edges, Chinese numerals),
``kinds`` (pattern, values, email, phone), ``money``, ``dates`` and ``dates_zh``, ``days``
(calendar arithmetic), ``declarations`` (the YAML schema), ``extractor``.
"""

from chatbot.entities.base import (
    DATE_ORDERS,
    NORMALISE,
    PREFER,
    DateOrder,
    Entity,
    EntityConfigError,
    EntitySpec,
    Normalise,
    Prefer,
)
from chatbot.entities.dates import DateEntity
from chatbot.entities.days import add_months
from chatbot.entities.declarations import (
    KINDS,
    DateDecl,
    EmailDecl,
    EntitiesSection,
    EntityDecl,
    MoneyDecl,
    PatternDecl,
    PhoneDecl,
    ValuesDecl,
)
from chatbot.entities.extractor import EntityExtractor
from chatbot.entities.kinds import EmailEntity, PatternEntity, PhoneEntity, ValuesEntity
from chatbot.entities.money import MoneyEntity, parse_amount
from chatbot.entities.text import fold_width, glued_to_identifier

__all__ = [
    "DATE_ORDERS",
    "KINDS",
    "NORMALISE",
    "PREFER",
    "DateDecl",
    "DateEntity",
    "DateOrder",
    "EmailDecl",
    "EmailEntity",
    "EntitiesSection",
    "Entity",
    "EntityConfigError",
    "EntityDecl",
    "EntityExtractor",
    "EntitySpec",
    "MoneyDecl",
    "MoneyEntity",
    "Normalise",
    "PatternDecl",
    "PatternEntity",
    "PhoneDecl",
    "PhoneEntity",
    "Prefer",
    "ValuesDecl",
    "ValuesEntity",
    "add_months",
    "fold_width",
    "glued_to_identifier",
    "parse_amount",
]
