"""What several benchmarks share: percentiles, resident memory, and a real ``python app.py``.

Benchmarks run as scripts (``python benchmarks/x.py``), so this module is imported from beside
them (``from common import ...``); it needs the project importable (each script puts the
project's root on ``sys.path`` first).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    """The value at quantile ``q`` of ``values`` (nearest rank, no interpolation)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def rss_mib(pid: int | str = "self") -> float:
    """Resident set size of a process in MiB (Linux: ``VmRSS`` in ``/proc/PID/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(settings_env: Mapping[str, str], timeout: float = 600) -> tuple[subprocess.Popen, str, float]:
    """Launches ``python app.py`` with these ``CHATBOT_*`` variables over the process's own;
    returns the process, its URL and the seconds from launch to its first answer on
    ``/api/chat``. The caller stops the process."""
    import httpx

    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, str(PROJECT / "app.py"), "--port", str(port)],
        cwd=PROJECT,
        env={**os.environ, **settings_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    while True:
        try:
            if httpx.post(url + "api/chat", json={"message": "hello"}, timeout=5).status_code == 200:
                return process, url, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.perf_counter() - started > timeout:
            process.kill()
            raise RuntimeError("app.py did not start (train the default model first: make model)")
        time.sleep(0.1)
