"""`python -m retrieval evaluate` on the shipped FAQ and its evaluation questions."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ASSETS, PROJECT


def test_evaluate_prints_and_writes_figures(tmp_path):
    out = tmp_path / "coverage.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "retrieval",
            "evaluate",
            "--faq",
            str(ASSETS / "faq.csv"),
            "--queries",
            str(ASSETS / "faq_eval.csv"),
            "--json-out",
            str(out),
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert figures["n"] >= 60
    assert 0.65 <= figures["hit_at_1"] <= figures["hit_at_5"] <= 1.0
    assert figures["hit_at_1"] <= figures["mrr"] <= figures["hit_at_5"]
    assert json.loads(result.stdout.strip().splitlines()[-1])["n"] == figures["n"]


def test_unknown_faq_id_in_queries_is_named(tmp_path):
    queries = tmp_path / "q.csv"
    queries.write_text("query,faq_id\nhow long is shipping,does-not-exist\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "retrieval", "evaluate", "--faq", str(ASSETS / "faq.csv"), "--queries", str(queries)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert "q.csv, row 2: unknown faq_id 'does-not-exist'" in result.stderr
