"""Writing a folder so that it appears whole or not at all.

Readers never see a half-written index or model: the files go into a hidden sibling folder
that is renamed into place at the end (a rename is atomic on one filesystem). If the folder
already exists it is swapped out and removed. A crash leaves only a hidden ``.tmp`` folder.

``write_checksums`` / ``damaged_files`` catch what a rename cannot: a file damaged or truncated
later on disk (a full disk, a bad copy, a hand edit).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_directory(directory: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary folder; on success it becomes ``directory``."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    stamp = f"{os.getpid()}-{time.monotonic_ns()}"
    tmp = directory.parent / f".{directory.name}.tmp-{stamp}"
    tmp.mkdir()
    try:
        yield tmp
        for path in tmp.rglob("*"):
            if path.is_file():
                with open(path, "rb") as f:
                    os.fsync(f.fileno())
        if directory.exists():
            old = directory.parent / f".{directory.name}.old-{stamp}"
            directory.rename(old)
            tmp.rename(directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


CHECKSUMS_FILE = "checksums.json"


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_checksums(folder: str | os.PathLike) -> None:
    """Records the sha256 of every file in ``folder`` (recursively) in ``checksums.json``."""
    folder = Path(folder)
    sums = {
        p.relative_to(folder).as_posix(): file_sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != CHECKSUMS_FILE
    }
    (folder / CHECKSUMS_FILE).write_text(json.dumps(sums, indent=1), encoding="utf-8")


def damaged_files(folder: str | os.PathLike) -> list[str]:
    """The files of ``folder`` that are missing or differ from ``checksums.json`` (files added
    later are not checked); ``[checksums.json]`` when that is missing or unreadable: everything
    this project writes has one, so a folder without it is not whole."""
    folder = Path(folder)
    try:
        sums = json.loads((folder / CHECKSUMS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [CHECKSUMS_FILE]
    if not isinstance(sums, dict):
        return [CHECKSUMS_FILE]
    return [
        name for name, digest in sums.items() if not (folder / name).is_file() or file_sha256(folder / name) != digest
    ]


def file_stamp(path: str | os.PathLike) -> tuple[int, int] | None:
    """What tells that another process replaced ``path``: its modification time and size
    (``None`` while it does not exist). A file renamed into place always changes it."""
    try:
        stat = Path(path).stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size
