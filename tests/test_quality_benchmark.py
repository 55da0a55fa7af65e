"""Smoke test of benchmarks/quality.py: the quick FAQ part runs and its JSON line has the agreed shape."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
DATA = PROJECT / ".." / "shared" / "data"


def test_quick_faq_run_reports_both_systems() -> None:
    needed = [DATA / "covidfaq" / "queries.csv", DATA / "banking77" / "train.csv"]
    missing = [str(path) for path in needed if not path.is_file()]
    if missing:
        pytest.skip(f"benchmark data not found (it lives in ../shared/data beside the project): {missing}")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "benchmarks/quality.py", "--quick", "--only", "faq", "--no-adapt", "--threads", "2"]
    done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]

    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["benchmark"] == "quality"
    assert set(result["faq"]) == {"own", "covidfaq", "banking77-faq"}
    assert "afqmc-faq" in result["skipped"] and result["skipped"]["adapted"] == "--no-adapt"
    for name, figures in result["faq"].items():
        for system in ("ours", "dense"):
            assert 0 <= figures[system]["hit_at_1"]["mean"] <= 1, (name, system)
    assert result["faq"]["covidfaq"]["ours"]["n"] == 40
    assert result["faq"]["covidfaq"]["dense"]["n"] == 40
