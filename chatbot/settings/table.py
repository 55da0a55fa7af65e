"""The README's configuration table, made from the settings' declarations.

Each row is a field's environment variable, its default and its ``description``, so the README
cannot drift from the code: ``tests/chatbot/test_settings.py`` compares the two word for word.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatbot.settings.fields import PROJECT_ROOT, Settings
from chatbot.settings.sources import ENV_PREFIX


def settings_table() -> str:
    """The README's configuration table, one row per setting in declaration order, made from
    the fields' defaults and descriptions so that the two cannot drift apart."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for name, field in Settings.model_fields.items():
        rows.append(f"| `{ENV_PREFIX}{name.upper()}` | {_shown_default(field.default)} | {field.description} |")
    return "\n".join(rows)


def _shown_default(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return str(value)
    if value == "":
        return "empty"
    if Path(value).is_absolute() and Path(value).is_relative_to(PROJECT_ROOT):
        return f"`{Path(value).relative_to(PROJECT_ROOT)}` (the project's)"
    return f"`{value}`"
