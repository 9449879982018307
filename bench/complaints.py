"""Complaint desk benchmark: the JSON API under 50 concurrent handlers.

Fills a case store with N cases (default 100,000; ``QINGLANG_BENCH_COMPLAINTS_N``,
``run(n=...)`` or ``quick=True`` for fewer) on PostgreSQL when
``QINGLANG_BENCH_PG`` is a SQLAlchemy URL (a fresh schema, dropped afterwards),
else SQLite in a temporary folder. Then serves the console with uvicorn in this
process and lets ``handlers`` threads (default 50), each signed in as its own
handler, request

- ``queue_mine``: ``GET /api/complaints?queue=mine`` (the handler's first page),
- ``search``: ``GET /api/complaints?q=<word>`` (text search, first page),

and measures the same two pages as bare SQL (the page query and its count, on
the same database with the same concurrency) as the baseline. Prints throughput
and p50/p99 latency of each, and the ratios API / bare SQL.
"""

from __future__ import annotations

import os
import random
import socket
import statistics
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import create_engine, insert, text

DEFAULT_N = 100_000
WORDS = ["低俗", "赌博", "广告", "虚假", "暴力", "未成年", "盗版", "色情", "谣言", "直播"]
STATES = ["registered"] * 2 + ["accepted", "verifying", "referred", "awaiting_reply"] * 2 + ["closed"] * 4


def _fill(url: str, n: int, handlers: int, progress: bool) -> None:
    from complaints.models import Case, Complainant, Deadline

    rng = random.Random(7)
    eng = create_engine(url)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    batch = 5000
    for start in range(0, n, batch):
        cases, people, dls = [], [], []
        for i in range(start + 1, min(n, start + batch) + 1):
            reg = now - timedelta(seconds=rng.random() * 365 * 86400)
            words = rng.sample(WORDS, 2)
            cases.append(dict(
                id=i, tracking_code=f"QL-B{i:09d}", channel=rng.choice(["web", "hotline", "letter", "email"]),
                category=rng.choice(["vulgar", "gambling", "advertising", "other"]),
                target=f"平台{i % 300} 节目{i % 2000}", target_key=f"平台{i % 300} 节目{i % 2000}",
                target_platform=f"平台{i % 300}", target_program="", target_url="", target_account="",
                target_source_id="", description=f"观众反映节目中出现{words[0]}和{words[1]}内容，编号{i}",
                received_at=reg, registered_at=reg, registered_by="bench", state=rng.choice(STATES),
                assignee=f"h{i % handlers:02d}", reject_reason="", outcome="", outcome_basis="",
                paused_reason="", extended=False, escalated=False, updated_at=reg))
            people.append(dict(case_id=i, original_case_id=i, name="某某", phone="13800000000", email="",
                               id_number="", address="", channel="hotline", anonymous=False, created_at=reg))
            due = reg.date() + timedelta(days=10)
            dls.append(dict(case_id=i, name="acceptance", unit="working_days", amount=7, start=reg.date(),
                            due=due, met_at=None if due > date(2026, 10, 20) else reg))
        with eng.begin() as conn:
            conn.execute(insert(Case.__table__), cases)
            conn.execute(insert(Complainant.__table__), people)
            conn.execute(insert(Deadline.__table__), dls)
        if progress:
            print(f"\r  filled {min(n, start + batch):,}/{n:,} cases", end="", flush=True)
    if url.startswith("postgresql"):
        with eng.begin() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('complaint_cases','id'), :n)"), {"n": n})
            conn.execute(text("ANALYZE"))
    if progress:
        print()
    eng.dispose()


def _measure(fn: Callable[[int], None], workers: int, per_worker: int) -> dict[str, float]:
    lat: list[float] = []
    lock = threading.Lock()

    def worker(w: int) -> None:
        mine = []
        for _ in range(per_worker):
            t0 = time.perf_counter()
            fn(w)
            mine.append(time.perf_counter() - t0)
        with lock:
            lat.extend(mine)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(worker, range(workers)))
    wall = time.perf_counter() - t0
    lat.sort()
    return {"requests": len(lat), "throughput_rps": round(len(lat) / wall, 1),
            "p50_ms": round(statistics.median(lat) * 1000, 2),
            "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 2)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_schema(base: str) -> tuple[str, str]:
    schema = "bench_" + uuid.uuid4().hex[:10]
    eng = create_engine(base)
    with eng.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    eng.dispose()
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}", schema


def run(progress: bool = True, n: int | None = None, handlers: int = 50, per_handler: int | None = None,
        quick: bool = False) -> dict[str, Any]:
    import httpx
    import uvicorn

    from console.app import create_app
    from console.auth import SESSION_COOKIE, session_token
    from console.users import UserService
    from core.services import Services
    from core.settings import Settings
    from qinglang.wiring import migrate_all

    n = n or int(os.environ.get("QINGLANG_BENCH_COMPLAINTS_N", 5_000 if quick else DEFAULT_N))
    per_handler = per_handler or (5 if quick else 20)
    pg = os.environ.get("QINGLANG_BENCH_PG")
    tmp = tempfile.TemporaryDirectory(prefix="qinglang-bench-complaints-")
    schema = None
    if pg:
        url, schema = _pg_schema(pg)
    else:
        url = f"sqlite:///{Path(tmp.name) / 'cases.db'}"
    server = None
    try:
        if progress:
            print(f"complaints bench: {n:,} cases, {handlers} handlers on {'PostgreSQL' if pg else 'SQLite'}")
        migrate_all(url)
        _fill(url, n, handlers, progress)
        settings = Settings(data_dir=Path(tmp.name), db=url, secret_key="bench-secret")
        services = Services(settings)
        app = create_app(services)
        users = UserService(services.db)
        cookies = []
        for h in range(handlers):
            user = users.create(f"h{h:02d}", "bench-password-1", ["handler"])
            cookies.append(session_token(app, user)[0])
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                               access_log=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", cookies={SESSION_COOKIE: c}, timeout=60)
                   for c in cookies]
        rng = random.Random(3)

        def api_queue(w: int) -> None:
            r = clients[w].get("/api/complaints", params={"queue": "mine", "limit": 50})
            r.raise_for_status()

        def api_search(w: int) -> None:
            r = clients[w].get("/api/complaints", params={"q": rng.choice(WORDS), "limit": 50})
            r.raise_for_status()

        eng = services.db.engine
        open_states = ("closed", "merged")
        page_sql = text("SELECT * FROM complaint_cases WHERE assignee = :a AND state NOT IN :s "
                        "ORDER BY id DESC LIMIT 50").bindparams(_expanding("s"))
        count_sql = text("SELECT count(id) FROM complaint_cases WHERE assignee = :a AND state NOT IN :s"
                         ).bindparams(_expanding("s"))
        search_sql = text("SELECT * FROM complaint_cases WHERE target LIKE :q OR description LIKE :q "
                          "ORDER BY id DESC LIMIT 50")
        search_count = text("SELECT count(id) FROM complaint_cases WHERE target LIKE :q OR description LIKE :q")

        def sql_queue(w: int) -> None:
            with eng.connect() as conn:
                conn.execute(count_sql, {"a": f"h{w:02d}", "s": open_states}).scalar()
                conn.execute(page_sql, {"a": f"h{w:02d}", "s": open_states}).all()

        def sql_search(w: int) -> None:
            q = f"%{rng.choice(WORDS)}%"
            with eng.connect() as conn:
                conn.execute(search_count, {"q": q}).scalar()
                conn.execute(search_sql, {"q": q}).all()

        results: dict[str, Any] = {"cases": n, "handlers": handlers, "backend": "postgresql" if pg else "sqlite"}
        for name, fn in (("baseline_sql_queue", sql_queue), ("queue_mine", api_queue),
                         ("baseline_sql_search", sql_search), ("search", api_search)):
            fn(0)  # warm up
            results[name] = _measure(fn, handlers, per_handler)
            if progress:
                print(f"  {name:22s} {results[name]}")
        for api, base in (("queue_mine", "baseline_sql_queue"), ("search", "baseline_sql_search")):
            results[f"{api}_throughput_ratio"] = round(
                results[api]["throughput_rps"] / results[base]["throughput_rps"], 3)
            results[f"{api}_p99_ratio"] = round(results[api]["p99_ms"] / max(results[base]["p99_ms"], 1e-6), 3)
            if progress:
                print(f"  {api}: throughput ×{results[f'{api}_throughput_ratio']} of bare SQL, "
                      f"p99 ×{results[f'{api}_p99_ratio']}")
        for c in clients:
            c.close()
        return results
    finally:
        if server is not None:
            server.should_exit = True
            time.sleep(0.3)
        if schema and pg:
            eng2 = create_engine(pg)
            with eng2.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            eng2.dispose()
        tmp.cleanup()


def _expanding(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name, expanding=True)
