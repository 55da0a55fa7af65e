"""Loading the operator's YAML files: every problem at once, each with its file, key and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chatbot import Domain, DomainError
from chatbot.domain import SYSTEM_TEMPLATES
from chatbot.entities import EntityConfigError, EntityExtractor
from chatbot.frustration import FrustrationDetector, LexiconError

# templates.yaml with the system templates and a few answers, so that "known: ..." stays short
TEMPLATES = {
    "variables": {"shop_name": "Harbor Goods", "return_days": 30},
    "templates": {
        **{name: f"{name} text" for name in SYSTEM_TEMPLATES},
        "greet": ["Hi!", "Hello from {shop_name}!"],
        "order_status": "Order {order_id} is on its way.",
        "cancel_order": "Order {order_id} is cancelled.",
    },
}


def write(folder: Path, intents: str, templates: dict | str = TEMPLATES) -> None:
    (folder / "intents.yaml").write_text(intents, encoding="utf-8")
    text = templates if isinstance(templates, str) else yaml.safe_dump(templates, sort_keys=False)
    (folder / "templates.yaml").write_text(text, encoding="utf-8")


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(DomainError) as caught:
        Domain.load(folder)
    assert str(caught.value).startswith(f"{len(caught.value.problems)} problems:\n  - ")
    return caught.value.problems


def test_every_problem_in_both_files_is_listed_with_its_file_and_key(tmp_path):
    write(
        tmp_path,
        """\
entities:
  order_id: {pattern: 'A-\\d+', colour: red}
  when: {kind: date, prefer: soon}
  what: {kind: colour}
intents:
  agree:
    handler: templat
  order:
    handler: template
    template: order_status
    slots:
      order_id: {entity: order_id, prompt: [Which order]}
    suggestion: {text: Where is my order}
  bye:
    handler: faq
    examples: [bye, {text: ciao}]
""",
        """\
variables:
  shop_name: [Harbor Goods]
templates:
  greet: []
  bye: "Bye {name"
  thanks: ["Thanks!", "  "]
  odd: {a: 1}
""",
    )
    intents, templates = tmp_path / "intents.yaml", tmp_path / "templates.yaml"
    assert problems_of(tmp_path) == [
        f"{intents}: entities.order_id: unknown keys ['colour']; allowed for kind pattern: "
        "kind, description, priority, pattern, ignore_case, normalise, redact",
        f"{intents}: entities.when.prefer is 'soon'; allowed: nearest, past, future",
        f"{intents}: entities.what.kind is 'colour'; allowed: pattern, values, email, phone, money, date",
        f"{intents}: intents.agree.handler is 'templat'; allowed: template, faq, handoff; did you mean 'template'?",
        f"{intents}: intents.order.slots.order_id.prompt must be a text, not ['Which order']",
        f"{intents}: intents.order.suggestion must be a text, not {{'text': 'Where is my order'}}",
        f"{intents}: intents.bye.examples[1] must be a text, not {{'text': 'ciao'}}",
        f"{templates}: variables.shop_name must be a text, not ['Harbor Goods']",
        f"{templates}: templates.greet must not be empty",
        f"{templates}: templates.bye[0] is not a valid template (expected '}}' before end of string); "
        "write {{ and }} for a brace",
        f"{templates}: templates.thanks[1] must not be empty",
        f"{templates}: templates.odd must be a text or a list of texts",
    ]


def test_unknown_keys_are_refused_with_what_is_allowed_and_a_did_you_mean(tmp_path):
    write(
        tmp_path,
        """\
versoin: 1
roles: {affirm: agree, handof: person}
intents:
  agree: {handler: template, tempalte: greet}
  person:
    handler: handoff
    slots:
      order_id: {entity: order_id, promt: "Which order?", retries: 2}
""",
    )
    intents = tmp_path / "intents.yaml"
    assert problems_of(tmp_path) == [
        f"{intents}: roles: unknown role(s) ['handof']; allowed: affirm, deny, handoff, small_talk, offers_person; "
        "did you mean 'handoff'?",
        f"{intents}: intents.agree: unknown keys ['tempalte']; allowed: handler, template, slots, suggestion, "
        "examples; did you mean 'template'?",
        f"{intents}: intents.person.slots.order_id: needs 'prompt'",
        f"{intents}: intents.person.slots.order_id: unknown keys ['promt', 'retries']; allowed: entity, prompt, "
        "label; did you mean 'prompt' for 'promt'?",
        f"{intents}: unknown keys ['versoin']; allowed: version, roles, entities, intents; did you mean 'version'?",
    ]


def test_cross_references_are_checked_together_after_validation(tmp_path):
    templates = {**TEMPLATES, "templates": dict(TEMPLATES["templates"])}
    del templates["templates"]["slot_missing"]
    write(
        tmp_path,
        """\
roles:
  affirm: agre
  handoff: agree
  small_talk: [agree, gret]
entities:
  order_id: {pattern: 'A-\\d{5}'}
  customer: {pattern: '(', redact: true}
intents:
  agree: {handler: template, template: greet}
  greet: {handler: template, template: greet}
  order:
    handler: template
    template: order_stauts
    slots:
      order_id: {entity: ordr, prompt: "Which order?"}
  cancel: {handler: template, template: cancel_order}
""",
        templates,
    )
    intents, templates_file = tmp_path / "intents.yaml", tmp_path / "templates.yaml"
    known = ", ".join(sorted(templates["templates"]))
    assert problems_of(tmp_path) == [
        f"{templates_file}: the template 'slot_missing' is required",
        f"{intents}: intents.order.template 'order_stauts' is not in templates.yaml; known: {known}; "
        "did you mean 'order_status'?",
        f"{intents}: intents.order.slots.order_id.entity 'ordr' is not a declared entity; "
        "declared: order_id, customer; did you mean 'order_id'?",
        f"{templates_file}: template 'cancel_order' uses ['order_id']; "
        "allowed for intent 'cancel': ['return_days', 'shop_name']",
        f"{intents}: roles.affirm: 'agre' is not a declared intent; did you mean 'agree'?",
        f"{intents}: roles.small_talk: 'gret' is not a declared intent; did you mean 'greet'?",
        f"{intents}: roles.handoff: intent 'agree' must have handler 'handoff'",
        f"{intents}: entities.customer.pattern is not a valid regular expression: "
        "missing ), unterminated subpattern at position 0",
    ]


def test_a_valid_domain_keeps_defaults_and_values(tmp_path):
    write(
        tmp_path,
        """\
version: 1
roles:
entities:
  order_id: {pattern: 'A-\\d{5}', ignore_case: true, normalise: upper}
  when: {kind: date, order: dmy}
intents:
  greet: {handler: template, template: greet, examples: [hi]}
  order:
    handler: template
    template: order_status
    slots:
      order_id: {entity: order_id, prompt: "Which order?"}
    suggestion: Where is my order?
  ask: {handler: faq, slots: }
""",
    )
    domain = Domain.load(tmp_path)
    order = domain.intents["order"]
    assert (order.handler, order.template, order.suggestion) == ("template", "order_status", "Where is my order?")
    assert [(s.name, s.entity, s.prompt, s.label) for s in order.slots] == [
        ("order_id", "order_id", "Which order?", "order id")  # the label defaults to the name
    ]
    assert (domain.intents["ask"].template, domain.intents["ask"].slots) == (None, ())
    assert domain.roles.affirm is None and domain.roles.small_talk == frozenset()
    assert domain.variables == {"shop_name": "Harbor Goods", "return_days": "30"}
    assert domain.templates["order_status"] == ("Order {order_id} is on its way.",)
    assert domain.extract("a-12345 on 3/5/2024") == {"order_id": "A-12345", "when": "2024-05-03"}


def test_entity_declarations_list_every_problem():
    config = {
        "a": {"pattern": "x", "colur": 1, "ignore_cas": True},
        "b": {"kind": "date", "order": "mdy", "priority": True},
        "c": {"kind": "phone", "region": "XX"},
        "d": {"values": {"red": ["crimson"], "blue": ["Crimson"]}},
        "e": "a-z",
        "f": {"description": "no kind"},
    }
    with pytest.raises(EntityConfigError) as caught:
        EntityExtractor.from_config(config)
    assert caught.value.problems == [
        "entities.a: unknown keys ['colur', 'ignore_cas']; allowed for kind pattern: kind, description, priority, "
        "pattern, ignore_case, normalise, redact; did you mean 'ignore_case' for 'ignore_cas'?",
        "entities.b.priority must be an integer, not True",
        "entities.e must be a mapping, not 'a-z'",
        "entities.f: needs 'kind'; allowed: pattern, values, email, phone, money, date",
    ]
    del config["a"], config["b"], config["e"], config["f"]
    with pytest.raises(EntityConfigError) as caught:  # what only building finds, once the shapes are right
        EntityExtractor.from_config(config)
    assert caught.value.problems == [
        "entities.c.region 'XX' is not a country code phonenumbers knows (e.g. NL, DE, US, GB)",
        "entities.d.values: 'Crimson' stands for both 'red' and 'blue'",
    ]


def test_lexicon_lists_every_problem_with_its_file_and_key(tmp_path):
    lexicon = tmp_path / "lexicon.yaml"
    lexicon.write_text(
        """\
threshhold: 0.4
groups:
  calm:
    weight: -20
    negatable: maybe
    terms: ["re:((", "  ", no rush]
typography:
  all caps: loud
signals:
  fallbacks: [0, yes]
"""
    )
    expected = [
        "groups.calm.weight: -20 is not a number from -10 to 10",
        "groups.calm.negatable must be true or false, not 'maybe'",
        "groups.calm.terms[0]: 're:((' is not a valid pattern: missing ), unterminated subpattern at position 3",
        "groups.calm.terms[1] must not be empty",
        "typography.all caps: 'loud' is not a number from -10 to 10",
        "signals.fallbacks[1]: True is not a number from -10 to 10",
        "unknown keys ['threshhold']; allowed: version, threshold, bias, negation, groups, typography, signals; "
        "did you mean 'threshold'?",
    ]
    with pytest.raises(LexiconError) as caught:
        FrustrationDetector.from_file(lexicon)
    assert caught.value.problems == [f"{lexicon}: {problem}" for problem in expected]
    with pytest.raises(LexiconError) as caught:  # extending the default: still this file's keys and positions
        FrustrationDetector.load(lexicon)
    assert caught.value.problems == [f"{lexicon}: {problem}" for problem in expected]


def test_lexicon_extension_may_leave_out_what_the_default_has(tmp_path):
    extra = tmp_path / "extra.yaml"
    extra.write_text("groups:\n  calm: {terms: [chill out]}\n  shop words: {weight: 3}\n")
    with pytest.raises(LexiconError, match=r"extra.yaml: groups.shop words: needs 'terms'$"):
        FrustrationDetector.load(extra)  # a new group needs its terms in the merged lexicon
    extra.write_text("groups:\n  calm: {terms: [chill out]}\n  shop words: {weight: 3, terms: [grr]}\n")
    detector = FrustrationDetector.load(extra)
    assert detector.score("grr").reasons == ["shop words"]
    assert detector.score("chill out, the parcel is late").score < detector.score("the parcel is late").score
