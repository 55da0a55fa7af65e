"""Model versions on disk: one folder per version and a ``current`` file naming the serving one.

A version folder is written whole or not at all (see ``retrieval.atomic``), and ``current``
is replaced with an atomic rename, so a crash in the middle of training or of a switch leaves
the previous version serving.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from finetune.record import VERSION_FILE, VersionRecord

CURRENT_FILE = "current"


class Registry:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def versions(self) -> list[str]:
        """Complete versions, oldest first."""
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and (p / VERSION_FILE).is_file() and not p.name.startswith(".")
        )

    def new_version_name(self) -> str:
        name = time.strftime("v%Y%m%d-%H%M%S", time.gmtime())
        suffix = 1
        while (self.root / name).exists():
            suffix += 1
            name = f"{name.split('.')[0]}.{suffix}"
        return name

    def path(self, name: str) -> Path:
        if name not in self.versions():
            raise KeyError(f"no model version '{name}' in {self.root}; known: {', '.join(self.versions()) or 'none'}")
        return self.root / name

    def current(self) -> Path | None:
        """The serving version's folder, or ``None`` before the first training."""
        pointer = self.root / CURRENT_FILE
        if not pointer.is_file():
            return None
        name = pointer.read_text(encoding="utf-8").strip()
        return self.root / name if name in self.versions() else None

    def activate(self, name: str) -> Path:
        """Makes ``name`` the serving version (an atomic replace of the ``current`` file)."""
        path = self.path(name)
        tmp = self.root / f".{CURRENT_FILE}.tmp-{os.getpid()}"
        tmp.write_text(name + "\n", encoding="utf-8")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self.root / CURRENT_FILE)
        return path

    def deactivate(self) -> None:
        """No version serves any more (the ``current`` file is removed); for artifacts that
        have a fallback, such as the base embedder for FAQ-adapted ones."""
        (self.root / CURRENT_FILE).unlink(missing_ok=True)

    def prune(self, keep: int, protect: Iterable[str] = ()) -> list[str]:
        """Deletes the oldest versions beyond the newest ``keep`` (0 keeps all), never the
        serving one nor those in ``protect``. Each is renamed to a hidden name first, so a crash
        while deleting never leaves a half version in the list. Returns the deleted names."""
        if keep <= 0:
            return []
        current = self.current()
        spared = {*protect, *([current.name] if current is not None else [])}
        versions = self.versions()
        doomed = [name for name in versions[: max(0, len(versions) - keep)] if name not in spared]
        for name in doomed:
            hidden = self.root / f".pruned-{name}-{os.getpid()}"
            os.replace(self.root / name, hidden)
            shutil.rmtree(hidden, ignore_errors=True)
        return doomed

    def describe(self) -> list[dict]:
        current = self.current()
        rows = []
        for name in self.versions():
            version = VersionRecord.read(self.root / name)
            rows.append(
                {
                    "name": name,
                    "current": current is not None and current.name == name,
                    "created_at": version.created_at,
                    "intents": len(version.labels),
                    "val_accuracy": version.metrics.val_accuracy,
                    "data_hash": version.data_hash,
                    "warm_start_from": (version.warm_start or {}).get("from"),
                }
            )
        return rows
