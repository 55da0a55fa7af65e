"""Writing a folder so that it appears whole or not at all.

Readers never see a half-written index or model: the files go into a hidden sibling folder
that is renamed into place at the end (a rename is atomic on one filesystem). If the folder
already exists it is swapped out and removed. A crash leaves only a hidden ``.tmp`` folder.
"""

from __future__ import annotations

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
