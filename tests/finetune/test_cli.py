"""`python -m finetune train|evaluate` end to end on a slice of BANKING77, as other tools call it."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from tests.conftest import PROJECT

INTENTS = ["card_arrival", "lost_or_stolen_card", "exchange_rate", "pin_blocked", "top_up_limits"]
UNSEEN = "age_limit"  # never trained: the evaluation must count it as out-of-scope


def _write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["text", "category"])
        writer.writeheader()
        writer.writerows({"text": r["text"], "category": r["category"]} for r in rows)


def _run(*args):
    return subprocess.run(
        [sys.executable, "-m", "finetune", *args], cwd=PROJECT, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def trained(banking_rows, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    by_intent = {i: [r for r in banking_rows if r["category"] == i] for i in INTENTS + [UNSEEN]}
    _write(folder / "train.csv", [r for i in INTENTS for r in by_intent[i][:24]])
    _write(folder / "test.csv", [r for i in INTENTS for r in by_intent[i][24:34]] + by_intent[UNSEEN][:10])
    result = _run(
        "train",
        "--data",
        str(folder / "train.csv"),
        "--text-col",
        "text",
        "--label-col",
        "category",
        "--out",
        str(folder / "model"),
        "--min-steps",
        "30",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return folder, result


def test_train_prints_a_json_summary_last(trained):
    folder, result = trained
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["model_dir"] == str((folder / "model").resolve())
    assert summary["val_accuracy"] >= 0.8
    assert summary["train_seconds"] > 0 and summary["intents"] == len(INTENTS)
    assert "Training" in result.stderr  # the progress bar
    assert (folder / "model" / "version.json").is_file()


def test_evaluate_writes_the_report(trained):
    folder, _ = trained
    result = _run(
        "evaluate",
        "--model",
        str(folder / "model"),
        "--data",
        str(folder / "test.csv"),
        "--label-col",
        "category",
        "--json-out",
        str(folder / "report.json"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((folder / "report.json").read_text())
    assert {"n", "accuracy", "macro_f1", "in_scope_accuracy", "oos_precision", "oos_recall"} <= set(report)
    assert report["n"] == 60 and report["n_oos"] == 10
    assert report["accuracy"] >= 0.8  # 5 intents, chance is 0.2
    assert 0.0 <= report["oos_recall"] <= 1.0
    assert "macro-F1" in result.stdout and "most confused" in result.stdout or report["accuracy"] == 1.0


def test_bad_training_file_fails_clearly_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,category\nhello,greet\n,greet\nbye,\n", encoding="utf-8")
    result = _run("train", "--data", str(bad), "--label-col", "category", "--out", str(tmp_path / "model"))
    assert result.returncode == 2
    assert "bad.csv, row 3, column 'text'" in result.stderr and "bad.csv, row 4, column 'intent'" in result.stderr
    assert not (tmp_path / "model").exists()
    assert "Traceback" not in result.stderr
