"""One typed settings object: file, environment, clear errors."""

from __future__ import annotations

import pytest

from chatbot import Domain, DomainError, Settings, SettingsError
from tests.conftest import ASSETS


def test_defaults_file_and_environment(tmp_path):
    config = tmp_path / "chatbot.toml"
    config.write_text('data_dir = "/srv/bot"\nfaq_answer_threshold = 0.6\n')
    settings = Settings.load(config, env={"CHATBOT_PORT": "9000", "CHATBOT_MODEL": "/models/bge", "HOME": "/root"})
    assert settings.data_dir == "/srv/bot" and settings.faq_answer_threshold == 0.6
    assert settings.port == 9000 and settings.model == "/models/bge"
    assert settings.host == "127.0.0.1"


def test_unknown_keys_are_errors(tmp_path):
    config = tmp_path / "chatbot.toml"
    config.write_text("data_dri = 'x'\n")
    with pytest.raises(SettingsError, match="unknown setting 'data_dri'; allowed: .*data_dir"):
        Settings.load(config, env={})
    with pytest.raises(SettingsError, match="CHATBOT_DATA_DRI"):
        Settings.load(env={"CHATBOT_DATA_DRI": "x"})


@pytest.mark.parametrize(
    "env",
    [
        {"CHATBOT_PORT": "eighty"},
        {"CHATBOT_FAQ_ANSWER_THRESHOLD": "3"},
        {"CHATBOT_TORCH_THREADS": "-1"},
        {"CHATBOT_FOLLOW_DISK_SECONDS": "-2"},
        {"CHATBOT_RUNTIME": "tensorrt"},
    ],
)
def test_bad_values_are_errors(env):
    with pytest.raises(SettingsError):
        Settings.load(env=env)


def test_domain_validates_handlers_and_templates(tmp_path):
    (tmp_path / "templates.yaml").write_text((ASSETS / "templates.yaml").read_text())
    (tmp_path / "intents.yaml").write_text("intents:\n  greet:\n    handler: webhook\n    examples: [hi]\n")
    with pytest.raises(DomainError, match="handler is 'webhook'; allowed: template, faq, handoff"):
        Domain.load(tmp_path)
    (tmp_path / "intents.yaml").write_text(
        "intents:\n  greet:\n    handler: template\n    template: nope\n  bye:\n    handler: faq\n"
    )
    with pytest.raises(DomainError, match="template 'nope' is not in templates.yaml"):
        Domain.load(tmp_path)
    templates = (ASSETS / "templates.yaml").read_text()
    (tmp_path / "templates.yaml").write_text(templates.replace("  slot_retry:", "  slot_retry_old:"))
    with pytest.raises(DomainError, match="the template 'slot_retry' is required"):
        Domain.load(tmp_path)  # every sentence the router says itself is the operator's to word


def test_domain_roles_name_declared_intents(tmp_path):
    (tmp_path / "templates.yaml").write_text((ASSETS / "templates.yaml").read_text())
    intents = (
        "intents:\n  agree:\n    handler: template\n    template: affirm\n"
        "  person:\n    handler: handoff\n    template: human_handoff\n"
    )
    (tmp_path / "intents.yaml").write_text(intents + "roles:\n  affirm: agre\n")
    with pytest.raises(DomainError, match="roles.affirm: 'agre' is not a declared intent; did you mean 'agree'"):
        Domain.load(tmp_path)
    (tmp_path / "intents.yaml").write_text(intents + "roles:\n  handoff: agree\n")
    with pytest.raises(DomainError, match="roles.handoff: intent 'agree' must have handler 'handoff'"):
        Domain.load(tmp_path)
    (tmp_path / "intents.yaml").write_text(intents + "roles:\n  greeting: [agree]\n")
    with pytest.raises(DomainError, match=r"unknown role\(s\) \['greeting'\]"):
        Domain.load(tmp_path)
    (tmp_path / "intents.yaml").write_text(intents + "roles:\n  affirm: agree\n  handoff: person\n")
    roles = Domain.load(tmp_path).roles
    assert (roles.affirm, roles.deny, roles.handoff, roles.not_topics) == ("agree", None, "person", {"person"})


def test_default_domain():
    domain = Domain.load(ASSETS)
    assert len(domain.intents) >= 25
    assert domain.extract("order A-12345 and B-99999") == {"order_id": "A-12345"}
    assert "{" not in domain.render("greet")
    assert (domain.roles.affirm, domain.roles.deny, domain.roles.handoff) == ("affirm", "deny", "human_handoff")
    assert {"greet", "thanks"} <= domain.roles.small_talk and domain.roles.offers_person == {"complaint"}


def test_runtime_torch_exports_nothing(encoder, tmp_path):
    from chatbot.artifacts import use_runtime

    settings = Settings.load(env={"CHATBOT_RUNTIME": "torch"}, data_dir=str(tmp_path))
    assert use_runtime(encoder, settings, "embedder") == "torch"
    assert encoder.onnx_session is None and not (tmp_path / "onnx").exists()
