"""Settings problems in the words of the settings: the name, the value given, what is allowed.

pydantic's own messages name its types and link to its docs; an operator reads
``port=0 (must be above 0)`` instead, never the value of a hidden setting (the admin password),
and every problem at once in one :class:`SettingsError`. The checks that span several settings
(:func:`conversation_problems`) run even when another setting failed, so that one error still
lists everything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic.fields import FieldInfo

from chatbot.schemas import did_you_mean


class SettingsError(ValueError):
    """Every problem found in the settings, one a line, each naming the setting."""

    def __init__(self, problems: str | Sequence[str]):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("invalid settings:\n  " + "\n  ".join(self.problems))


# the settings conversation_problems looks at together
CONVERSATION_FIELDS = ("frustration_lexicon", "handoff_webhook_url", "business_hours", "timezone")

_REASONS = {
    "int_parsing": "not a whole number",
    "int_from_float": "not a whole number",
    "int_type": "not a whole number",
    "float_parsing": "not a number",
    "float_type": "not a number",
    "bool_parsing": "not a boolean: true/false, yes/no, on/off, 1/0",
    "bool_type": "not a boolean: true/false, yes/no, on/off, 1/0",
    "string_type": "not a string",
    "greater_than": "must be above {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be below {lt}",
    "less_than_equal": "must be at most {le}",
    "literal_error": "one of {expected}",
    "string_too_short": "too short: at least {min_length} characters",
}


def validation_problems(exc: ValidationError, values: Mapping[str, Any], fields: Mapping[str, FieldInfo]) -> list[str]:
    """pydantic's errors as one line each, naming the setting and the value given (never a
    hidden one such as the admin password).

    Args:
        exc: what validating ``values`` raised.
        values: the values given, for the cross-setting checks the model validator could not run.
        fields: the settings' fields (``Settings.model_fields``): names, defaults, which are hidden.
    """
    problems: list[str] = []
    failed: set[str] = set()
    for error in exc.errors(include_url=False):
        if not error["loc"]:  # raised by the model validator (conversation_problems)
            cause = error["ctx"]["error"]
            problems += cause.problems if isinstance(cause, SettingsError) else [str(cause)]
            continue
        name = str(error["loc"][0])
        failed.add(name)
        if error["type"] == "extra_forbidden":
            problems.append(unknown_setting(name, fields))
            continue
        ctx = error.get("ctx", {})
        if error["type"] == "value_error":  # a validator's own words (_device)
            reason = str(ctx["error"])
        else:
            reason = _REASONS[error["type"]].format(**ctx) if error["type"] in _REASONS else error["msg"]
        shown = f"{name}={error['input']!r}" if fields[name].repr else name
        problems.append(f"{shown} ({reason})")
    if failed:  # the model validator did not run: check what it checks among the values that are fine
        defaults = {name: fields[name].default for name in CONVERSATION_FIELDS}
        given = {**defaults, **{name: values[name] for name in CONVERSATION_FIELDS if name in values}}
        problems += conversation_problems({name: value for name, value in given.items() if name not in failed})
    return problems


def conversation_problems(values: Mapping[str, Any]) -> list[str]:
    """Checks of the issue-5 block (frustration lexicon, handoff webhook, business hours) that a
    field constraint cannot say; each runs only on the values it needs that are present."""
    from chatbot.handoff import BusinessHours, BusinessHoursError, zone

    problems = []
    lexicon = values.get("frustration_lexicon")
    if lexicon is not None and not Path(lexicon).is_file():
        problems.append(f"frustration_lexicon={lexicon!r} (no such file)")
    url = values.get("handoff_webhook_url")
    if url is not None and not (url.startswith(("http://", "https://")) and len(url) > len("https://")):
        problems.append(f"handoff_webhook_url={url!r} (an http:// or https:// URL)")
    if "timezone" in values:
        try:
            zone(values["timezone"])
            if values.get("business_hours") is not None:
                BusinessHours.parse(values["business_hours"], values["timezone"])
        except BusinessHoursError as exc:
            problems.append(str(exc))
    return problems


def unknown_setting(key: str, names: Iterable[str]) -> str:
    """The problem of a key that names no setting, with the allowed names and a did-you-mean."""
    names = list(names)
    return f"unknown setting {key!r}; allowed: {', '.join(sorted(names))}" + did_you_mean(key, names)
