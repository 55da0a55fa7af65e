"""Throughput and latency of the served bot under concurrent HTTP clients.

    python benchmarks/load.py [--concurrency 1,8,32,64] [--seconds 20] [--requests N]
                              [--target api|gradio] [--data-dir data] [--url http://...]
                              [--replicas N] [--database sqlite|postgresql] [--balancer none|nginx]

Starts ``python app.py`` on a free localhost port with the cached default model in
``--data-dir`` (or uses ``--url``), then for each concurrency level runs that many clients,
each its own conversation, sending turns back to back: for ``--seconds``, or until
``--requests`` turns in total. ``--target api`` posts to ``/api/chat``; ``--target gradio``
calls the public Gradio endpoint through ``gradio_client``. Also reports the time from
launching ``app.py`` to its first answer. Prints a table, then one JSON object as the last line.

``--replicas N`` starts N copies of ``app.py`` on the same data folder, each with
``CHATBOT_TORCH_THREADS`` = cores / N, and keeps each client on one replica, as a load balancer
hashing the session id would (docs/scaling.md): one Python process runs its request threads
one at a time under the GIL, N processes do not.

``--database postgresql`` starts a throw-away PostgreSQL cluster on 127.0.0.1 (Debian's
postgresql-15; ``tests/servers.py``) and points every replica at a fresh database in it.
``--balancer nginx`` puts the shipped ``deploy/nginx.conf`` in front of the replicas (its
per-address rate limit raised: every client here is 127.0.0.1) and sends every client through
it, round robin, no stickiness: the conversation state is in the database.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

import common  # noqa: E402  (beside this script)
from common import percentile, rss_mib  # noqa: E402
from latency import turns  # noqa: E402

from tests.servers import Nginx, postgres  # noqa: E402

SITE = PROJECT / "deploy" / "nginx.conf"


def start_app(data_dir: str, torch_threads: int = 0, database_url: str = "") -> tuple[subprocess.Popen, str, float]:
    """Launches app.py; returns the process, its URL and the seconds to the first answer."""
    return common.start_app(
        {
            "CHATBOT_DATA_DIR": data_dir,
            **({"CHATBOT_DATABASE_URL": database_url} if database_url else {}),
            "CHATBOT_ADMIN_PASSWORD": "benchmark-only-password",
            # capacity, not abuse: every client comes from 127.0.0.1, so the per-address limit is off
            "CHATBOT_RATE_LIMIT_PER_MINUTE": "0",
            "CHATBOT_SESSION_RATE_LIMIT_PER_MINUTE": "0",
            "CHATBOT_TORCH_THREADS": str(torch_threads),
        }
    )


def resident_mb(process: subprocess.Popen | None) -> float | None:
    """The server's resident memory (VmRSS, Linux), in MB; None for a server not started here."""
    return None if process is None else round(rss_mib(process.pid), 1)


def total_resident_mb(processes: list[subprocess.Popen]) -> float | None:
    sizes = [resident_mb(p) for p in processes]
    return round(sum(sizes), 1) if sizes and None not in sizes else None


def post_chat(connection: http.client.HTTPConnection, path: str, session: str, message: str) -> None:
    """One turn through ``/api/chat`` on a kept-alive connection; any status but 200 raises."""
    body = json.dumps({"session_id": session, "message": message})
    connection.request("POST", path, body, {"content-type": "application/json"})
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}")


def run_level(urls: list[str], clients: int, seconds: float, requests: int | None, target: str) -> dict:
    """``clients`` conversations sending turns back to back; client n stays on ``urls[n % len(urls)]``."""
    messages = turns(5000, seed=clients)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))

    def client(number: int) -> None:
        url = urls[number % len(urls)]
        if target == "gradio":
            from gradio_client import Client

            gradio = Client(url, verbose=False)
        # the standard library's keep-alive client: the load generator shares the 2 cores with
        # the server, and http.client costs a fraction of httpx's CPU per request
        parts = urllib.parse.urlsplit(url)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        path = parts.path.rstrip("/") + "/api/chat"
        session = f"load-{clients}-{number}"
        while True:
            i = next(counter)
            if (requests is not None and i >= requests) or (requests is None and time.perf_counter() > deadline):
                break
            message = messages[i % len(messages)]
            t = time.perf_counter()
            try:
                if target == "gradio":
                    gradio.predict(message, session, api_name="/chat")
                else:
                    post_chat(connection, path, session, message)
                elapsed = time.perf_counter() - t
                with lock:
                    latencies.append(elapsed)
            except Exception as exc:  # counted, reported, never hidden
                connection.close()  # the next request opens a fresh connection
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}"[:200])
        connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ms = [1000 * x for x in latencies]
    return {
        "clients": clients,
        "turns": len(latencies),
        "seconds": round(wall, 2),
        "turns_per_s": round(len(latencies) / wall, 2),
        "median_ms": round(statistics.median(ms), 1) if ms else None,
        "p95_ms": round(percentile(ms, 0.95), 1) if ms else None,
        "p99_ms": round(percentile(ms, 0.99), 1) if ms else None,
        "errors": len(errors),
        "first_errors": sorted(set(errors))[:3],
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", default="1,8,32,64", help="comma-separated numbers of clients")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration of each level")
    parser.add_argument("--requests", type=int, default=None, help="total turns per level instead of a duration")
    parser.add_argument("--target", choices=["api", "gradio"], default="api")
    parser.add_argument("--data-dir", default=str(PROJECT / "data"))
    parser.add_argument("--url", default=None, help="an already running server instead of starting app.py")
    parser.add_argument("--replicas", type=int, default=1, help="copies of app.py (each client sticks to one)")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--balancer", choices=["none", "nginx"], default="none", help="nginx: round robin")
    return parser.parse_args()


def start_deployment(args: argparse.Namespace, stack: contextlib.ExitStack) -> tuple[list, list[str], float | None]:
    """The database, the replicas and the balancer the arguments ask for; returns the
    processes, the URLs the clients use, and the first replica's start-up seconds."""
    if args.url:
        return [], [args.url], None
    database_url = stack.enter_context(postgres()).new_database() if args.database == "postgresql" else ""
    threads = 0 if args.replicas == 1 else max(1, (os.cpu_count() or 1) // args.replicas)
    processes, urls, startup = [], [], None
    for _ in range(args.replicas):
        process, url, seconds = start_app(args.data_dir, threads, database_url)
        stack.callback(stop, process)
        processes.append(process)
        urls.append(url)
        startup = seconds if startup is None else startup
    if args.balancer == "nginx":
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="nginx-")))
        upstreams = [urllib.parse.urlsplit(url).netloc for url in urls]
        proxy = Nginx(root, SITE, upstreams, **{"rate=5r/s": "rate=100000r/s"}).start()
        stack.callback(proxy.stop)
        urls = [proxy.url + "/"]
    return processes, urls, startup


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    process.wait(timeout=30)


def print_table(levels: list[dict], rss: dict, replicas: int) -> None:
    single = next((level for level in levels if level["clients"] == 1), None)
    print(f"{'clients':>8} {'turns':>7} {'turns/s':>8} {'median':>8} {'p95':>8} {'p99':>8} {'errors':>7}  speed-up")
    for level in levels:
        speedup = level["turns_per_s"] / single["turns_per_s"] if single and single["turns_per_s"] else float("nan")
        level["speedup_vs_1"] = round(speedup, 2)
        print(
            f"{level['clients']:>8} {level['turns']:>7} {level['turns_per_s']:>8} {level['median_ms']:>6}ms"
            f" {level['p95_ms']:>6}ms {level['p99_ms']:>6}ms {level['errors']:>7}  {speedup:.2f}x"
        )
    if rss.get("after_start_mb") is not None:
        print(
            f"resident memory{' of all replicas' if replicas > 1 else ''}: {rss['after_start_mb']} MB after"
            f" start-up, {rss.get('after_load_mb')} MB after the load"
        )


def main() -> None:
    args = parse_args()
    with contextlib.ExitStack() as stack:
        processes, urls, startup = start_deployment(args, stack)
        rss = {"after_start_mb": total_resident_mb(processes)}
        run_level(urls, 4 * max(len(processes), 1), 3.0, None, args.target)  # warm-up
        levels = [
            run_level(urls, int(c), args.seconds, args.requests, args.target) for c in args.concurrency.split(",")
        ]
        rss["after_load_mb"] = total_resident_mb(processes)
        if len(processes) > 1:
            rss["per_replica_after_load_mb"] = [resident_mb(p) for p in processes]
    print_table(levels, rss, len(processes))
    import torch

    result = {
        "benchmark": "load",
        "target": args.target,
        "cores": os.cpu_count(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "replicas": len(processes) or 1,
        "database": args.database,
        "balancer": args.balancer,
        "startup_to_first_answer_s": None if startup is None else round(startup, 2),
        "resident_memory": rss,
        "levels": levels,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
