"""Console benchmark: the alert list and a hit search through HTTP, against the stores directly.

Fills an embedded data dir with N hits (default 1,000,000; ``QINGLANG_BENCH_CONSOLE_N``,
``run(n=...)`` or ``quick=True`` for 20,000) spread like production (bench/search.py's
generator), folds one hit in a hundred into alerts, then measures p50/p95 of

- ``alerts_api``: ``GET /api/alerts`` (newest 100, as the alert page asks),
- ``alerts_api_filtered``: ``GET /api/alerts?severity=high,critical&state=new``,
- ``hits_api``: ``GET /api/hits?q=<term>`` (first page, facets and per-day histogram, as the search page asks),

through the real app in this process (FastAPI TestClient, signed-in session cookie:
routing, auth, validation, JSON), next to the baseline measured in the same run:
``AlertStore.list`` and ``index.search`` called directly. Ratios are HTTP / direct;
the absolute p95 is compared with the 300 ms target of the console issue.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from bench.search import _doc, _fill  # the same synthetic hits as the search benchmark

DEFAULT_N = 1_000_000
TARGET_P95_MS = 300.0
TERMS = ["赌博", "诈骗", "刷单", "百家乐", "谣言", "色情", "贷款"]


def _fold_alerts(svc: Any, n: int, progress: bool) -> int:
    import random

    from core.alerts import AlertStore
    from core.events import Hit

    store = AlertStore(svc.db)
    rng = random.Random(7)
    sources = [f"src-{k:04d}" for k in range(300)]
    picks = range(0, n, 100)
    for i in picks:
        store.fold(Hit(**_doc(i, rng, sources)))
    if progress:
        print(f"folded {len(picks)} hits into alerts")
    return len(picks)


def _measure_pair(http: Callable[[int], Any], direct: Callable[[int], Any], reps: int) -> tuple[dict, dict]:
    """Interleaved (direct, HTTP) calls, so machine noise falls on both alike."""
    http(0)
    direct(0)  # warm caches
    times: dict[str, list[float]] = {"http": [], "direct": []}
    for r in range(reps):
        for name, fn in (("direct", direct), ("http", http)):
            t = time.perf_counter()
            fn(r)
            times[name].append((time.perf_counter() - t) * 1000)

    def stats(xs: list[float]) -> dict[str, float]:
        xs.sort()
        return {"p50_ms": statistics.median(xs), "p95_ms": xs[min(len(xs) - 1, int(0.95 * len(xs)))]}

    return stats(times["http"]), stats(times["direct"])


def run(progress: bool = True, quick: bool = False, n: int | None = None, reps: int | None = None) -> dict:
    from fastapi.testclient import TestClient

    from console.app import create_app
    from console.auth import SESSION_COOKIE, session_token
    from console.routers.alerts import alert_store
    from console.users import UserService
    from core.index.base import HitQuery
    from core.services import Services
    from core.settings import Settings
    from qinglang.wiring import migrate_all

    n = int(n or os.environ.get("QINGLANG_BENCH_CONSOLE_N") or (20_000 if quick else DEFAULT_N))
    reps = reps or (20 if quick else 50)
    with tempfile.TemporaryDirectory(prefix="qinglang-bench-console-") as tmp:
        settings = Settings(data_dir=Path(tmp))
        migrate_all(settings.db_url)
        svc = Services(settings)
        fill_s = _fill(svc.index, n, progress)  # type: ignore[arg-type]
        _fold_alerts(svc, n, progress)
        app = create_app(svc)
        user = UserService(svc.db).create("bench", "bench-password", ["admin"])
        cookie, _ = session_token(app, user)
        client = TestClient(app)
        client.__enter__()  # one event-loop portal for every request, as a server has
        client.cookies.set(SESSION_COOKIE, cookie)
        store = alert_store(svc)

        def get(url: str, **params: Any) -> None:
            r = client.get(url, params=params)
            if r.status_code != 200:
                raise RuntimeError(f"{url} answered {r.status_code}: {r.text[:300]}")

        cases = {
            "alerts_api": (lambda i: get("/api/alerts"), lambda i: store.list(limit=100)),
            "alerts_api_filtered": (
                lambda i: get("/api/alerts", severity="high,critical", state="new"),
                lambda i: store.list(severity="high,critical", state="new", limit=100)),
            "hits_api": (
                lambda i: get("/api/hits", q=TERMS[i % len(TERMS)]),
                lambda i: svc.index.search(HitQuery(q=TERMS[i % len(TERMS)]))),
        }
        result: dict[str, Any] = {"hits": n, "fill_seconds": round(fill_s, 1), "reps": reps,
                                  "target_p95_ms": TARGET_P95_MS}
        for name, (http, direct) in cases.items():
            got, base = _measure_pair(http, direct, reps)
            result[name] = {
                "http_p50_ms": round(got["p50_ms"], 2), "http_p95_ms": round(got["p95_ms"], 2),
                "baseline_p50_ms": round(base["p50_ms"], 2), "baseline_p95_ms": round(base["p95_ms"], 2),
                "ratio_p50": round(got["p50_ms"] / max(base["p50_ms"], 1e-6), 2),
                "ratio_p95": round(got["p95_ms"] / max(base["p95_ms"], 1e-6), 2),
                "meets_target": got["p95_ms"] < TARGET_P95_MS,
            }
            if progress:
                r = result[name]
                print(f"{name:22s} http p50 {r['http_p50_ms']:8.2f} ms  p95 {r['http_p95_ms']:8.2f} ms | "
                      f"direct p50 {r['baseline_p50_ms']:8.2f} ms  p95 {r['baseline_p95_ms']:8.2f} ms | "
                      f"ratio p50 {r['ratio_p50']:.2f}x p95 {r['ratio_p95']:.2f}x | "
                      f"{'<' if r['meets_target'] else '>='} {TARGET_P95_MS:.0f} ms")
        client.__exit__(None, None, None)
        svc.close()
    return result


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(run(quick=True), indent=2))
