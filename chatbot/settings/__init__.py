"""One typed settings object for the whole bot, from a TOML file and the environment.

Precedence: defaults < ``chatbot.toml`` (or the file named by ``CHATBOT_CONFIG``) < environment
variables ``CHATBOT_<FIELD>`` (``CHATBOT_MODEL``, ``CHATBOT_DATA_DIR``, ...) < keyword arguments
of :meth:`Settings.load`. Unknown keys are an error, so a typo never silently falls back to a
default, and every problem is reported at once, so a deployment is not fixed one restart at a time.

Each field's help text is its ``description``: the README's configuration table is made from it
(:func:`settings_table`), and a test keeps the two equal.

Layout: ``fields`` (the ``Settings`` model: each setting's type, range, default and help text,
the paths derived from them), ``sources`` (the TOML file and the environment), ``problems``
(``SettingsError``, every problem in the words of the settings), ``table`` (the README's table).
"""

from chatbot.settings.fields import LANGUAGE_ASSETS, LANGUAGE_MODELS, PROJECT_ROOT, Language, Settings
from chatbot.settings.problems import SettingsError
from chatbot.settings.sources import ENV_PREFIX
from chatbot.settings.table import settings_table

__all__ = [
    "ENV_PREFIX",
    "LANGUAGE_ASSETS",
    "LANGUAGE_MODELS",
    "PROJECT_ROOT",
    "Language",
    "Settings",
    "SettingsError",
    "settings_table",
]
