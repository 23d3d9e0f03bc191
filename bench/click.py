"""Benchmark of the referral link /r/<code> against the bare /healthz view, served by gunicorn on PostgreSQL and Redis.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/referrals_saas REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/click.py

It never touches the database DATABASE_URL names: it drops and recreates its own (`referrals_bench_click` on the
same server, through the `postgres` maintenance database), migrates it and creates a business, a client and the
client's code. In Redis it uses database 14 of REDIS_URL (`--redis-db`) and only keys under its own prefix.

It then starts gunicorn in production mode (DJANGO_DEBUG=0; gthread workers bound to 127.0.0.1 on a free port),
warms both URLs up and drives them with many concurrent keep-alive connections in alternating rounds on the same
server, with `wrk` if it is installed (or `--driver wrk`) and otherwise with its own load generator (processes
of threads, each thread one keep-alive connection). It prints the requests per second of each URL, the ratio
click/healthz (goal: at least 70%), the p50/p99 latency, the database queries of one click on a warm cache, and
whether every click answered was counted once the counters were flushed into ClickCount.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import warnings
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder comes first on the path, and this file would shadow the `click` package
# that Celery imports.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))

from bench.common import fail, prepare_database  # noqa: E402  (needs ROOT on sys.path)

BENCH_DB = "referrals_bench_click"
KEY_PREFIX = "bench-click"
GOAL = 0.70


def clear_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{KEY_PREFIX}*", count=1000))
    if keys:
        client.delete(*keys)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build() -> str:
    """The business, client and code the clicks go to; returns the code."""
    from django.core.management import call_command
    from django_scopes import scope

    from businesses.models import Business
    from clients.services import ClientData, client_create
    from referrals.codes import code_for_client

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"Migrated {BENCH_DB} in {time.perf_counter() - started:.1f}s")
    business = Business.objects.create(
        name="Bench studio", slug="bench-studio", time_zone="Europe/London", currency="GBP", country="GB"
    )
    with scope(business=business):
        client = client_create(
            business=business, data=ClientData(first_name="Anna", last_name="Berg", email="anna@bench.example")
        )
        return code_for_client(business=business, client=client).code


def server_env(database_url: str, redis_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_"))}
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="bench-only-secret-key-bench-only-secret-key-bench-only",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="0",
        DJANGO_HSTS_SECONDS="0",
        SITE_URL=f"http://127.0.0.1:{port}",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CACHE_KEY_PREFIX=KEY_PREFIX,
        EMAIL_URL="consolemail://",
        DEFAULT_FROM_EMAIL="Bench <bench@example.com>",
        LOG_LEVEL="WARNING",
        # No collectstatic for a bench: whitenoise's warning about the missing folder is noise here.
        PYTHONWARNINGS="ignore:No directory at",
    )
    return env


def start_gunicorn(args, env: dict[str, str], port: int) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [
        str(gunicorn),
        "referrals_saas.wsgi",
        "--worker-class",
        "gthread",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--bind",
        f"127.0.0.1:{port}",
        "--keep-alive",
        "30",
        "--backlog",
        "2048",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            fail(f"gunicorn exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    fail("gunicorn did not answer /healthz within 30 s")
    raise AssertionError  # unreachable


def stop(server: subprocess.Popen) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(server.pid, signal.SIGKILL)


# --------------------------------------------------------------------------------------------- the load


class Connection:
    """One keep-alive HTTP/1.1 connection that sends one request at a time and reads the whole answer."""

    def __init__(self, port: int, request: bytes):
        self.port, self.request = port, request
        self.sock: socket.socket | None = None
        self.buffer = b""

    def _connect(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def get(self) -> int:
        if self.sock is None:
            self._connect()
        self.sock.sendall(self.request)
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            self.buffer += chunk
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        close = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the server")
            rest += chunk
        self.buffer = rest[length:]
        if close:
            self.close()
        return status

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _drive_process(port: int, path: str, connections: int, seconds: float, start_at: float, queue) -> None:
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench\r\n\r\n".encode()
    results: list[tuple[int, list[float], dict[int, int], int]] = []
    lock = threading.Lock()

    def run() -> None:
        conn = Connection(port, request)
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        errors = 0
        while time.time() < start_at:
            time.sleep(0.001)
        deadline = start_at + seconds
        now = time.perf_counter()
        while time.time() < deadline:
            try:
                status = conn.get()
            except OSError:
                errors += 1
                conn.close()
                continue
            end = time.perf_counter()
            latencies.append(end - now)
            now = end
            statuses[status] = statuses.get(status, 0) + 1
        conn.close()
        with lock:
            results.append((len(latencies), latencies, statuses, errors))

    threads = [threading.Thread(target=run) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies = [value for _, values, _, _ in results for value in values]
    statuses: dict[int, int] = {}
    for _, _, counted, _ in results:
        for status, n in counted.items():
            statuses[status] = statuses.get(status, 0) + n
    queue.put((latencies, statuses, sum(r[3] for r in results)))


def drive_python(port: int, path: str, connections: int, seconds: float, processes: int) -> dict:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start_at = time.time() + 0.5
    shares = [connections // processes + (1 if i < connections % processes else 0) for i in range(processes)]
    workers = [
        context.Process(target=_drive_process, args=(port, path, share, seconds, start_at, queue))
        for share in shares
        if share
    ]
    for worker in workers:
        worker.start()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    for _ in workers:
        got_latencies, got_statuses, got_errors = queue.get()
        latencies += got_latencies
        errors += got_errors
        for status, n in got_statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    for worker in workers:
        worker.join()
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / seconds,
        "p50": percentile(latencies, 0.50),
        "p99": percentile(latencies, 0.99),
        "statuses": statuses,
        "errors": errors,
    }


WRK_LATENCY = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
WRK_UNIT = {"us": 1e-6, "ms": 1e-3, "s": 1.0}


def drive_wrk(port: int, path: str, connections: int, seconds: float, processes: int) -> dict:
    threads = max(1, min(processes, connections))
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--latency"]
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    latency = {int(p): float(v) * WRK_UNIT[unit] for p, v, unit in WRK_LATENCY.findall(output)}
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "requests": requests,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": latency.get(50, float("nan")),
        "p99": latency.get(99, float("nan")),
        "statuses": {"non-2xx/3xx": int(non_2xx.group(1))} if non_2xx else {},
        "errors": sum(int(n) for n in errors.groups()) if errors else 0,
    }


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, round(fraction * (len(values) - 1)))]


# --------------------------------------------------------------------------------------------- checks in-process


def warm_click_queries(code: str) -> int:
    from django.db import connection
    from django.test import Client as HttpClient
    from django.test.utils import CaptureQueriesContext

    http = HttpClient(HTTP_HOST="localhost")
    assert http.get(f"/r/{code}").status_code == 302
    with CaptureQueriesContext(connection) as queries:
        response = http.get(f"/r/{code}")
    assert response.status_code == 302, response.status_code
    return len(queries)


def counted_clicks() -> int:
    from django.db.models import Sum
    from django_scopes import scopes_disabled

    from referrals.clicks import clicks_flush
    from referrals.models import ClickCount

    clicks_flush()
    with scopes_disabled():
        return ClickCount.objects.aggregate(total=Sum("clicks"))["total"] or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections")
    parser.add_argument("--seconds", type=float, default=6, help="length of one round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per URL, alternating")
    parser.add_argument("--load-processes", type=int, default=2, help="load generator processes (or wrk threads)")
    parser.add_argument("--driver", choices=["auto", "python", "wrk"], default="auto")
    parser.add_argument("--redis-db", type=int, default=14, help="the Redis database the bench uses")
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "")
    redis_url = os.environ.get("REDIS_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")) or not redis_url.startswith("redis"):
        fail(
            "bench/click.py measures the production shape only: set DATABASE_URL=postgres://user@host:5432/anydb "
            f"and REDIS_URL=redis://host:6379/0. It creates and uses its own database '{BENCH_DB}' on that server "
            "and its own keys in Redis database 14."
        )
    driver_name = args.driver
    if driver_name == "auto":
        driver_name = "wrk" if shutil.which("wrk") else "python"
    if driver_name == "wrk" and not shutil.which("wrk"):
        fail("--driver wrk: wrk is not installed (apt-get install wrk)")
    drive = drive_wrk if driver_name == "wrk" else drive_python

    bench_db = prepare_database(database_url, BENCH_DB)
    bench_redis = urlunparse(urlparse(redis_url)._replace(path=f"/{args.redis_db}"))
    clear_redis(bench_redis)
    os.environ.update(
        DATABASE_URL=bench_db, REDIS_URL=bench_redis, CACHE_KEY_PREFIX=KEY_PREFIX, DJANGO_DEBUG="1", LOG_LEVEL="WARNING"
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "referrals_saas.settings")
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.db import connection

    code = build()
    connection.close()

    port = free_port()
    server = start_gunicorn(args, server_env(bench_db, bench_redis, port), port)
    paths = {"healthz": "/healthz", "click": f"/r/{code}"}
    clicks_answered = 0
    try:
        print(
            f"gunicorn gthread {args.workers} workers x {args.threads} threads on 127.0.0.1:{port}; "
            f"{args.connections} connections; driver {driver_name}; {os.cpu_count()} CPUs; "
            f"{args.rounds} rounds of {args.seconds:g}s per URL"
        )
        for name, path in paths.items():
            warm = drive(port, path, args.connections, 2, args.load_processes)
            if name == "click":
                clicks_answered += warm["statuses"].get(302, 0)
        rounds: dict[str, list[dict]] = {name: [] for name in paths}
        for number in range(args.rounds):
            order = list(paths) if number % 2 == 0 else list(reversed(paths))
            for name in order:
                result = drive(port, paths[name], args.connections, args.seconds, args.load_processes)
                rounds[name].append(result)
                if name == "click":
                    clicks_answered += result["statuses"].get(302, 0)
                print(
                    f"  round {number + 1} {name:<8} {result['rps']:8.0f} req/s  p50 {result['p50'] * 1000:6.2f} ms"
                    f"  p99 {result['p99'] * 1000:6.2f} ms  statuses {result['statuses']}  errors {result['errors']}"
                )
    finally:
        stop(server)

    print()
    print(f"{'url':<14} {'req/s (median)':>15} {'p50 ms':>8} {'p99 ms':>8}")
    summary = {}
    for name, results in rounds.items():
        rps = statistics.median(r["rps"] for r in results)
        p50 = statistics.median(r["p50"] for r in results) * 1000
        p99 = statistics.median(r["p99"] for r in results) * 1000
        summary[name] = rps
        print(f"{paths[name]:<14} {rps:15.0f} {p50:8.2f} {p99:8.2f}")
    ratio = summary["click"] / summary["healthz"]
    verdict = "meets" if ratio >= GOAL else "BELOW"
    print(f"\nclick / healthz = {ratio:.0%} ({verdict} the goal of {GOAL:.0%})")
    print(f"Database queries of one click on a warm cache: {warm_click_queries(code)}")
    if driver_name == "python":
        counted = counted_clicks()
        # The in-process checks above add two clicks.
        expected = clicks_answered + 2
        state = "every click counted once" if counted == expected else "MISMATCH"
        print(f"Clicks answered with 302: {expected:,}; in ClickCount after the flush: {counted:,} ({state})")
    clear_redis(bench_redis)


if __name__ == "__main__":
    main()
