"""One typed settings object: file, environment, clear errors."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from chatbot import Domain, DomainError, Settings, SettingsError
from chatbot.settings import settings_table
from tests.conftest import ASSETS, PROJECT


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
        {"CHATBOT_PRECISION": "int8"},
        {"CHATBOT_DEVICE": "gpu"},
        {"CHATBOT_SHOW_TRACE": "maybe"},
        {"CHATBOT_HOLDOUT_FRACTION": "0.5"},
        {"CHATBOT_QUEUE_SIZE": "0"},
        {"CHATBOT_MAX_SESSIONS": "1.5"},
    ],
)
def test_bad_values_are_errors(env):
    [(variable, value)] = env.items()
    name = variable.removeprefix("CHATBOT_").lower()
    with pytest.raises(SettingsError, match=re.escape(f"{name}='{value}' (")):  # names the setting and the value
        Settings.load(env=env)


def test_the_file_the_environment_and_the_arguments_override_in_that_order(tmp_path, monkeypatch):
    config = tmp_path / "chatbot.toml"
    config.write_text('host = "0.0.0.0"\nport = 8000\nsuggestions = 4\n')
    settings = Settings.load(config, env={"CHATBOT_PORT": "9000", "CHATBOT_SUGGESTIONS": "5"}, suggestions=6)
    assert (settings.host, settings.port, settings.suggestions, settings.queue_size) == ("0.0.0.0", 9000, 6, 64)
    assert Settings.load(env={"CHATBOT_CONFIG": str(config)}).port == 8000  # the file named by $CHATBOT_CONFIG
    monkeypatch.chdir(tmp_path)
    assert Settings.load(env={}).port == 8000  # else ./chatbot.toml, when there is one
    with pytest.raises(SettingsError, match="nope.toml: no such file"):
        Settings.load(tmp_path / "nope.toml", env={})  # a file named but missing is not silently skipped
    config.write_text("port = [\n")
    with pytest.raises(SettingsError, match="chatbot.toml: "):
        Settings.load(env={})


def test_environment_values_are_read_by_the_type_of_the_setting(tmp_path):
    config = tmp_path / "chatbot.toml"
    config.write_text('model = "/models/bge"\nallowed_origins = "https://shop.example.com"\n')
    env = {"CHATBOT_MODEL": "", "CHATBOT_ALLOWED_ORIGINS": "", "CHATBOT_GATE_MARGIN": "0.05", "chatbot_port": "81"}
    settings = Settings.load(config, env=env)
    assert settings.model is None  # an empty variable clears an optional setting the file set
    assert settings.allowed_origins == "" and settings.origins == []  # and empties a text one
    assert (settings.gate_margin, settings.port) == (0.05, 81)
    shown = ["1", "yes", "On", "TRUE", "0", "no", "off", "false"]
    assert [Settings.load(env={"CHATBOT_SHOW_TRACE": raw}).show_trace for raw in shown] == [True] * 4 + [False] * 4
    assert Settings.load(env={"CHATBOT_DEVICE": "cuda:1"}).device == "cuda:1"
    assert Settings.load(env={}, data_dir=tmp_path).data_dir == str(tmp_path)  # a Path is kept as its text


def test_every_problem_is_reported_at_once(tmp_path):
    """Unknown keys of each source, bad values and the cross-field checks, in one error: an
    operator fixes a deployment in one go, not one restart per typo."""
    config = tmp_path / "chatbot.toml"
    config.write_text("data_dri = 'x'\nport = 0\n")
    env = {"CHATBOT_PROT": "1", "CHATBOT_RUNTIME": "tensorrt", "CHATBOT_HANDOFF_WEBHOOK_URL": "ftp://example.com"}
    with pytest.raises(SettingsError) as caught:
        Settings.load(config, env=env, frustration_threshold=1.5, timeout=3)
    problems = caught.value.problems
    assert sorted(problem.split("; allowed: ")[0] for problem in problems) == sorted(
        [
            f"{config}: unknown setting 'data_dri'",
            "unknown environment variable CHATBOT_PROT",
            "unknown setting 'timeout'",
            "port=0 (must be above 0)",
            "runtime='tensorrt' (one of 'auto', 'onnx' or 'torch')",
            "frustration_threshold=1.5 (must be below 1.0)",
            "handoff_webhook_url='ftp://example.com' (an http:// or https:// URL)",
        ]
    )
    assert f"{config}: unknown setting 'data_dri'; allowed: adapt_embedder, " in str(caught.value)
    assert "did you mean 'data_dir'?" in str(caught.value) and "did you mean 'CHATBOT_PORT'?" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_the_admin_password_is_never_shown():
    with pytest.raises(SettingsError, match="admin_password \\(too short: at least 8 characters\\)") as caught:
        Settings.load(env={}, admin_password="hunter2")
    assert "hunter2" not in str(caught.value)
    assert "correct-horse" not in repr(Settings.load(env={}, admin_password="correct-horse"))


def test_settings_are_changed_only_into_a_checked_copy():
    settings = Settings.load(env={})
    with pytest.raises(ValidationError, match="frozen"):
        settings.port = 9000
    changed = settings.replace(port=9000, faq_answer_threshold=0.7)
    assert (changed.port, changed.faq_answer_threshold, changed.host) == (9000, 0.7, settings.host)
    assert (settings.port, settings.faq_answer_threshold) == (7860, None)
    with pytest.raises(SettingsError, match="faq_answer_threshold=3 \\(must be at most 1.0\\)"):
        settings.replace(faq_answer_threshold=3)
    with pytest.raises(SettingsError, match="unknown setting 'prot'; allowed: .*did you mean 'port'"):
        settings.replace(prot=9000)


def test_the_readme_lists_every_setting_as_the_code_defines_it():
    """The README's table is settings_table()'s output, word for word."""
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    regenerate = 'python -c "from chatbot.settings import settings_table; print(settings_table())"'
    assert table == settings_table(), (
        f"README.md's configuration table is out of date; paste the output of {regenerate}"
    )


def test_the_table_shows_each_setting_with_its_default_and_help():
    rows = [line.removeprefix("| ").removesuffix(" |").split(" | ") for line in settings_table().splitlines()[2:]]
    fields = Settings.model_fields
    assert [variable for variable, _, _ in rows] == [f"`CHATBOT_{name.upper()}`" for name in fields]
    assert all(field.description for field in fields.values())  # every setting says what it is for
    assert [meaning for _, _, meaning in rows] == [field.description for field in fields.values()]  # no stray |
    shown = {variable.strip("`").removeprefix("CHATBOT_").lower(): default for variable, default, _ in rows}
    assert (shown["port"], shown["model"], shown["show_trace"], shown["device"]) == (
        "7860",
        "none",
        "`false`",
        "`auto`",
    )
    assert (shown["follow_disk_seconds"], shown["gate_margin"], shown["allowed_origins"]) == ("2", "0.02", "empty")
    assert shown["assets_dir"] == "none" and shown["language"] == "`en`"


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
