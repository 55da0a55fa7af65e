"""A large document imported end to end: a PDF of many pages read, split, embedded and calibrated.

    python benchmarks/documents.py [--pages 500] [--threads N] [--json-out FILE]

Writes a PDF of ``--pages`` pages with fpdf2 (a heading and three paragraphs a page, the
paragraphs cut from CovidFAQ's answers in ../shared/data, each page's text made unique by its
number), then times what ``python -m chatbot admin docs-add`` does with it: reading and splitting
(``retrieval.documents.read_document``, with the progress callback counted), building the
passage index with the default model (embedding every passage and its sentence windows, then the
threshold calibration), and how long a cancel takes to stop a read (``cancelled`` set when the
read reports half done, three tries: median). Peak resident memory is the process's maximum.

Limits: one machine and one synthetic PDF (fpdf2's text layout, no images: a scanned or
image-heavy PDF of the same page count is larger on disk and has no text); the median of the
cancel latencies, not a distribution. Prints a table, then one JSON object as the last line.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from retrieval import Encoder  # noqa: E402
from retrieval.documents import Cancelled, read_document  # noqa: E402
from retrieval.passages import PassageIndex  # noqa: E402

DATA = PROJECT / ".." / "shared" / "data"


def write_pdf(path: Path, pages: int) -> None:
    from fpdf import FPDF

    with open(DATA / "covidfaq" / "faq.csv", encoding="utf-8") as f:
        answers = [" ".join(row["answer"].split()) for row in csv.DictReader(f)]
    pdf = FPDF()
    pdf.set_auto_page_break(False)
    for page in range(pages):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 14)
        pdf.cell(0, 10, f"Chapter {page + 1}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=10)
        for k in range(3):
            text = answers[(3 * page + k) % len(answers)][:700]
            text = text.encode("latin-1", "replace").decode("latin-1")  # the core fonts are latin-1
            pdf.multi_cell(0, 5, f"Section {page + 1}.{k + 1}. {text}", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
    pdf.output(str(path))


def cancel_latency(path: Path, encoder: Encoder) -> float:
    """Seconds from asking to cancel (when the read reports half done) to the read raising ``Cancelled``."""
    asked: list[float] = []

    def progress(fraction: float, message: str) -> None:
        if fraction >= 0.5 and not asked:
            asked.append(time.perf_counter())

    try:
        read_document(path, count_tokens=encoder.count_tokens, progress=progress, cancelled=lambda: bool(asked))
    except Cancelled:
        return time.perf_counter() - asked[0]
    raise RuntimeError("the read ended before it was cancelled")


def main(argv: list[str] | None = None) -> dict:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's choice)")
    parser.add_argument("--json-out", default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "manual.pdf"
        write_pdf(path, args.pages)
        size_mb = path.stat().st_size / 2**20
        encoder = Encoder()
        calls = []
        started = time.perf_counter()
        document = read_document(path, count_tokens=encoder.count_tokens, progress=lambda f, m: calls.append(f))
        read_s = time.perf_counter() - started
        started = time.perf_counter()
        index = PassageIndex.build([document], encoder, "Flat")
        index_s = time.perf_counter() - started
        latencies = [cancel_latency(path, encoder) for _ in range(3)]
    result = {
        "benchmark": "documents",
        "pages": args.pages,
        "pdf_mb": round(size_mb, 2),
        "passages": len(document.passages),
        "rows_embedded": index.embedded_rows,
        "read_split_s": round(read_s, 2),
        "progress_calls": len(calls),
        "index_s": round(index_s, 2),
        "total_s": round(read_s + index_s, 2),
        "cancel_latency_s_median": round(statistics.median(latencies), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "threads": torch.get_num_threads(),
        "answer_threshold": index.thresholds.answer,
    }
    print(f"{'measure':32} value")
    for key, value in result.items():
        if key != "benchmark":
            print(f"{key:32} {value}")
    line = json.dumps(result)
    if args.json_out:
        Path(args.json_out).write_text(line + "\n", encoding="utf-8")
    print(line)
    return result


if __name__ == "__main__":
    main()
