"""Where settings come from besides keyword arguments: a TOML file and ``CHATBOT_*`` variables.

pydantic-settings reads both, but :meth:`Settings.load` layers them itself, because it takes
both as arguments (tests pass ``env={}``). A key of the file or a ``CHATBOT_*`` variable that
names no setting is a problem naming the file or the variable (pydantic-settings would ignore
such a variable). An empty variable clears an optional setting (``CHATBOT_MODEL=``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, EnvSettingsSource, TomlConfigSettingsSource

from chatbot.schemas import did_you_mean
from chatbot.settings.problems import SettingsError, unknown_setting

ENV_PREFIX = "CHATBOT_"
CONFIG_VARIABLE = ENV_PREFIX + "CONFIG"
DEFAULT_FILE = "chatbot.toml"


def read_sources(
    settings_cls: type[BaseSettings], path: str | os.PathLike | None, env: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """The values of the TOML file (``path``, else ``$CHATBOT_CONFIG``, else ``./chatbot.toml`` if
    present), overridden by the ``CHATBOT_*`` variables of ``env``, and a problem for each key or
    variable that names no setting. A file named but missing or not TOML raises
    :class:`SettingsError` at once."""
    problems: list[str] = []
    values: dict[str, Any] = {}
    path = path or env.get(CONFIG_VARIABLE) or (DEFAULT_FILE if Path(DEFAULT_FILE).is_file() else None)
    if path:
        for key, value in _read_toml(settings_cls, path).items():
            if key in settings_cls.model_fields:
                values[key] = value
            else:
                problems.append(f"{path}: {unknown_setting(key, settings_cls.model_fields)}")
    problems += _unknown_variables(env, settings_cls.model_fields)
    # pydantic-settings ignores CHATBOT_* names it does not know: _unknown_variables refuses them
    for name, raw in _Environment(settings_cls, env)().items():
        values[name] = None if raw == "" and _optional(settings_cls, name) else raw
    return values, problems


class _Environment(EnvSettingsSource):
    """pydantic-settings' environment source, reading the given mapping instead of ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]):
        self._given = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # the hook pydantic-settings' own .env source overrides; names compare case-insensitively
        return {key.lower(): value for key, value in self._given.items()}


def _read_toml(settings_cls: type[BaseSettings], path: str | os.PathLike) -> dict[str, Any]:
    if not Path(path).is_file():
        raise SettingsError(f"{path}: no such file")
    try:
        return TomlConfigSettingsSource(settings_cls, toml_file=Path(path)).toml_data
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: {exc}") from None


def _unknown_variables(env: Mapping[str, str], names: Iterable[str]) -> list[str]:
    allowed = [ENV_PREFIX + name.upper() for name in names]
    return [
        f"unknown environment variable {key}; allowed: {', '.join(sorted(allowed))}{did_you_mean(key.upper(), allowed)}"
        for key in env
        if key.upper().startswith(ENV_PREFIX) and key.upper() not in (*allowed, CONFIG_VARIABLE)
    ]


def _optional(settings_cls: type[BaseSettings], name: str) -> bool:
    """Whether ``None`` is a valid value: an empty variable then means none (``CHATBOT_MODEL=``)."""
    return type(None) in getattr(settings_cls.model_fields[name].annotation, "__args__", ())
