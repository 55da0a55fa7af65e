"""One typed settings object for the whole bot, from a TOML file and the environment.

Precedence: defaults < ``chatbot.toml`` (or the file named by ``CHATBOT_CONFIG``) < environment
variables ``CHATBOT_<FIELD>`` (``CHATBOT_MODEL``, ``CHATBOT_DATA_DIR``, ...). Unknown keys are
an error, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "CHATBOT_"


class SettingsError(ValueError):
    pass


@dataclass
class Settings:
    # where things live
    model: str | None = None  # local model folder for the encoder and classifier; None = bundled MiniLM
    data_dir: str = "data"  # models, FAQ indexes, logs (created on first start)
    assets_dir: str = str(PROJECT_ROOT / "assets")  # intents.yaml, templates.yaml, faq.csv
    faq_file: str | None = None  # the FAQ to serve; None = <assets_dir>/faq.csv
    device: str = "auto"  # auto (CUDA when present), cpu, cuda
    precision: str = "auto"  # inference weights: auto (float16 on CUDA, float32 on the CPU), float16, float32
    torch_threads: int = 0  # CPU cores for the model: torch's threads, or ONNX passes at once; 0 = all cores
    runtime: str = "auto"  # inference: auto (ONNX Runtime on the CPU in float32, else torch), onnx, torch

    # routing thresholds
    intent_threshold: float | None = None  # None = the threshold calibrated at training time
    # FAQ: cosine similarity to answer directly / to offer an entry as a suggestion; None = calibrated
    # for the served FAQ and model when the index is built (retrieval.calibration)
    faq_answer_threshold: float | None = None
    faq_suggest_threshold: float | None = None
    suggestions: int = 3  # candidates offered by a clarifying question

    # conversation
    max_input_chars: int = 1000  # longer messages are cut (with a note in the trace)
    slot_retries: int = 2  # times the bot re-asks for a missing slot before moving on
    fallbacks_before_handoff: int = 2  # consecutive misunderstandings before offering a person
    max_sessions: int = 10_000  # sessions kept in memory (least recently used dropped)

    # retrieval
    # FAISS factory string, or "auto": exact search below 50k rows, an approximate index above
    # (retrieval.index.choose_index_factory)
    index_factory: str = "auto"
    # after an FAQ is applied, adapt the embedder to it in the background (finetune.embedder);
    # the adapted one serves only if it finds more held-out phrasings than the base model
    adapt_embedder: bool = True
    keep_embedders: int = 5  # FAQ-adapted embedders kept on disk (never the serving one); 0 = keep all

    # serving
    host: str = "127.0.0.1"
    port: int = 7860
    allowed_origins: str = ""  # comma-separated origins that may embed the chat or call /api/chat ("*" = any)
    show_trace: bool = False  # the "why this answer" panel on the public page (always on in the console)
    queue_concurrency: int = 4  # chat turns the Gradio queue runs at once
    queue_size: int = 64  # turns waiting beyond that get a busy message
    rate_limit_per_minute: float = 300  # chat turns a minute per client address (/api/chat and the chat page); 0 = off
    rate_limit_burst: int = 60  # turns a client address may send at once before the rate applies
    session_rate_limit_per_minute: float = 30  # chat turns a minute per conversation; 0 = off
    session_rate_limit_burst: int = 10  # turns one conversation may send at once
    max_request_kb: int = 64  # larger /api/chat request bodies are refused (413) before they are parsed

    # operators
    admin_user: str = "admin"
    admin_password: str | None = None  # None: generated at first start, printed once, stored hashed
    max_upload_mb: int = 20  # larger uploads are refused before they are read
    retention_days: int = 90  # conversation turns older than this are deleted
    holdout_fraction: float = 0.15  # share of examples held out to evaluate a retrained version
    gate_margin: float = 0.02  # a new version may lose at most this much accuracy (or F1 of any intent)

    # -- conversation: frustration, handoff --
    frustration_threshold: float | None = None  # score (0-1) from which a person is offered; None = lexicon's (0.5)
    frustration_lexicon: str | None = None  # a YAML file of extra frustration cues, added to assets/frustration.yaml
    handoff_webhook_url: str | None = None  # each new handoff is POSTed here as JSON (background, 1 retry); None = off
    handoff_webhook_timeout: float = 3.0  # seconds per webhook attempt
    business_hours: str | None = None  # when people answer handoffs, e.g. "Mon-Fri 09:00-17:00; Sat 10:00-14:00"
    timezone: str = "UTC"  # IANA time zone of business_hours, e.g. Europe/Amsterdam

    # -- continual learning --
    keep_versions: int = 20  # after a retrain, older model versions beyond the newest 20 are deleted (never the serving one); 0 = keep all
    warm_start: bool = True  # retrain from the serving version (new intents extend its head, earlier examples are replayed); false = from scratch
    # the gate judges an intent on its own only with this many held-out examples (overall accuracy always)
    gate_min_support: int = 5
    # cosine distance under which unanswered questions fall into one theme (average linkage)
    theme_distance: float = 0.5
    theme_days: int = 30  # unanswered turns of this many recent days are grouped into themes
    theme_max_turns: int = 2000  # at most this many of the most recent unanswered turns are clustered
    # a running server checks this often (seconds) for a version or FAQ that an admin command in
    # another process activated, and serves it without a restart; 0 = never
    follow_disk_seconds: float = 2.0

    def __post_init__(self) -> None:
        problems = []
        problems += self._conversation_problems()
        for name in ("faq_answer_threshold", "faq_suggest_threshold"):
            if getattr(self, name) is not None and not -1.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name}={getattr(self, name)!r} (a cosine similarity, -1 to 1)")
        if self.intent_threshold is not None and not 0.0 <= self.intent_threshold <= 1.0:
            problems.append(f"intent_threshold={self.intent_threshold!r} (a probability, 0 to 1)")
        if not 0.0 < self.holdout_fraction < 0.5:
            problems.append(f"holdout_fraction={self.holdout_fraction!r} (between 0 and 0.5)")
        if self.admin_password is not None and len(self.admin_password) < 8:
            problems.append("admin_password is too short (at least 8 characters)")
        for name in (
            "max_input_chars",
            "max_sessions",
            "suggestions",
            "queue_concurrency",
            "queue_size",
            "max_upload_mb",
            "rate_limit_burst",
            "session_rate_limit_burst",
            "max_request_kb",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)!r} (must be at least 1)")
        for name in ("rate_limit_per_minute", "session_rate_limit_per_minute"):
            if getattr(self, name) < 0:
                problems.append(f"{name}={getattr(self, name)!r} (0 turns the limit off)")
        if self.keep_versions < 0:
            problems.append(f"keep_versions={self.keep_versions!r} (0 keeps every version)")
        if self.keep_embedders < 0:
            problems.append(f"keep_embedders={self.keep_embedders!r} (0 keeps every embedder)")
        if self.torch_threads < 0:
            problems.append(f"torch_threads={self.torch_threads!r} (0 = torch's default)")
        if self.follow_disk_seconds < 0:
            problems.append(f"follow_disk_seconds={self.follow_disk_seconds!r} (seconds; 0 turns it off)")
        if not 0 < self.port < 65536:
            problems.append(f"port={self.port!r}")
        if self.precision not in ("auto", "float16", "float32"):
            problems.append(f"precision={self.precision!r} (auto, float16 or float32)")
        if self.runtime not in ("auto", "onnx", "torch"):
            problems.append(f"runtime={self.runtime!r} (auto, onnx or torch)")
        if problems:
            raise SettingsError("invalid settings: " + "; ".join(problems))

    def _conversation_problems(self) -> list[str]:
        """Checks of the issue-5 block (frustration, handoff webhook, business hours)."""
        from chatbot.handoff import BusinessHours, BusinessHoursError, zone

        problems = []
        if self.frustration_threshold is not None and not 0.0 < self.frustration_threshold < 1.0:
            problems.append(f"frustration_threshold={self.frustration_threshold!r} (a score between 0 and 1)")
        if self.frustration_lexicon is not None and not Path(self.frustration_lexicon).is_file():
            problems.append(f"frustration_lexicon={self.frustration_lexicon!r} (no such file)")
        url = self.handoff_webhook_url
        if url is not None and not (url.startswith(("http://", "https://")) and len(url) > len("https://")):
            problems.append(f"handoff_webhook_url={url!r} (an http:// or https:// URL)")
        if not 0.0 < self.handoff_webhook_timeout <= 60.0:
            problems.append(
                f"handoff_webhook_timeout={self.handoff_webhook_timeout!r} (seconds, above 0 and at most 60)"
            )
        try:
            zone(self.timezone)
            if self.business_hours is not None:
                BusinessHours.parse(self.business_hours, self.timezone)
        except BusinessHoursError as exc:
            problems.append(str(exc))
        return problems

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()]

    @property
    def faq_path(self) -> Path:
        return Path(self.faq_file) if self.faq_file else Path(self.assets_dir) / "faq.csv"

    @classmethod
    def load(cls, path: str | os.PathLike | None = None, env: dict[str, str] | None = None, **overrides) -> Settings:
        """Defaults, then the TOML file (if any), then ``CHATBOT_*`` variables, then ``overrides``."""
        env = dict(os.environ if env is None else env)
        known = {f.name: f for f in fields(cls)}
        values: dict[str, object] = {}
        path = path or env.get(ENV_PREFIX + "CONFIG") or ("chatbot.toml" if Path("chatbot.toml").is_file() else None)
        if path:
            with open(path, "rb") as f:
                try:
                    data = tomllib.load(f)
                except tomllib.TOMLDecodeError as exc:
                    raise SettingsError(f"{path}: {exc}") from None
            for key, value in data.items():
                if key not in known:
                    raise SettingsError(f"{path}: unknown setting '{key}'; allowed: {', '.join(sorted(known))}")
                values[key] = value
        for key, raw in env.items():
            if not key.startswith(ENV_PREFIX) or key == ENV_PREFIX + "CONFIG":
                continue
            name = key[len(ENV_PREFIX) :].lower()
            if name not in known:
                raise SettingsError(
                    f"unknown environment variable {key}; allowed: {', '.join(ENV_PREFIX + k.upper() for k in sorted(known))}"
                )
            values[name] = _parse(raw, str(known[name].type), key)
        for key in overrides:
            if key not in known:
                raise SettingsError(f"unknown setting '{key}'; allowed: {', '.join(sorted(known))}")
        values.update(overrides)
        return cls(**values)


def _parse(raw: str, annotation: str, key: str):
    if raw == "" and "None" in annotation:
        return None
    if annotation.startswith("bool"):
        if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise SettingsError(f"{key}={raw!r} is not a boolean (true/false)")
        return raw.lower() in ("1", "true", "yes", "on")
    try:
        if annotation.startswith("int"):
            return int(raw)
        if annotation.startswith("float"):
            return float(raw)
    except ValueError:
        raise SettingsError(f"{key}={raw!r} is not a number") from None
    return raw
