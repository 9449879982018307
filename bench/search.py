"""Search benchmark: the embedded index with many synthetic Chinese hits.

Fills an embedded index with N hits (default 1,000,000; ``QINGLANG_BENCH_SEARCH_N``
or ``run(n=...)`` for fewer) spread like production (few loud sources, many quiet
ones; mostly keyword hits; 90 days), then measures p50/p95 of

- ``newest_page``: the newest-first page with no filter (no facets),
- ``newest_page_facets``: the same with facet counts and the per-day histogram,
- ``text_2_filters``: a full-text query plus two filters, with facets and histogram,
- ``one_broad_filter_facets``: one severity filter matching 20-40 % of all hits,
  with facets and histogram (the worst case: every matching row is counted),

next to the baseline measured in the same run on the same file: a bare
``SELECT doc FROM hits ORDER BY ts DESC LIMIT 50``. Ratios are query / baseline.
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from core.index.base import HitQuery
from core.index.embedded import EmbeddedIndex

DEFAULT_N = 1_000_000
BATCH = 5_000
T_END = datetime(2024, 6, 1, tzinfo=UTC)

_LISTS = {
    "gambling": ["赌博", "网络赌博", "百家乐", "六合彩", "赌场"],
    "fraud": ["诈骗", "刷单", "兼职返利", "贷款", "中奖"],
    "porn": ["色情", "裸聊", "约炮"],
    "drugs": ["毒品", "冰毒", "大麻"],
    "rumour": ["谣言", "内部消息", "紧急通知"],
}
_FILLER = [
    "今晚八点", "本台记者报道", "观众朋友们", "欢迎收看", "精彩节目", "电视剧", "综艺", "直播间", "主播", "评论区",
    "点击链接", "加微信", "下载应用", "限时优惠", "新闻联播", "天气预报", "体育赛事", "电影频道", "少儿节目", "广告",
]
_TECH = ["black", "freeze", "silence", "loudness", "signal_loss"]
_SEVERITY = (["info"] * 5 + ["low"] * 30 + ["medium"] * 40 + ["high"] * 20 + ["critical"] * 5)
_PLATFORMS = ["website"] * 4 + ["app"] * 3 + ["iptv"] * 2 + ["ott", "comments"]


def _doc(i: int, rng: random.Random, sources: list[str]) -> dict[str, Any]:
    source = sources[min(len(sources) - 1, int(rng.paretovariate(1.2)) - 1)]
    detected = T_END - timedelta(seconds=rng.random() * 90 * 86400)
    filler = "，".join(rng.sample(_FILLER, 4))
    base: dict[str, Any] = {
        "schema_version": 1,
        "id": f"hit-{i:08d}",
        "sample_id": f"smp-{i // 3:08d}",
        "source_id": source,
        "detected_at": detected.isoformat().replace("+00:00", "Z"),
        "severity": rng.choice(_SEVERITY),
        "platform": rng.choice(_PLATFORMS),
        "confidence": 1.0,
        "rules": [],
    }
    if rng.random() < 0.8:
        name = rng.choice(list(_LISTS))
        term = rng.choice(_LISTS[name])
        text = f"{filler}，{term}，{rng.choice(_FILLER)}"
        at = text.index(term)
        base.update(
            detector=rng.choice(["keyword"] * 6 + ["ocr", "asr"]),
            list_name=name,
            term=term,
            matched=term,
            category=name,
            text=text,
            origin=rng.choice(["page", "comment", "ocr", "asr"]),
            evidence={"snippet": text[max(0, at - 10) : at + 10], "start": min(at, 10), "end": min(at, 10) + len(term)},
        )
    else:
        det = rng.choice(_TECH)
        base.update(detector=det, category="technical", text="", origin="video", evidence={"media_start": 1.0})
    return base


def _fill(index: EmbeddedIndex, n: int, progress: bool) -> float:
    rng = random.Random(20240601)
    sources = [f"src-{k:04d}" for k in range(300)]
    start = time.perf_counter()
    if progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("filling index"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        task = bar.add_task("fill", total=n)
        bar.start()
    try:
        for lo in range(0, n, BATCH):
            index.upsert([_doc(i, rng, sources) for i in range(lo, min(n, lo + BATCH))])
            if progress:
                bar.update(task, advance=min(BATCH, n - lo))
    finally:
        if progress:
            bar.stop()
    return time.perf_counter() - start


def _measure(fn: Callable[[int], Any], reps: int) -> dict[str, float]:
    fn(0)  # warm the page cache
    times = []
    for r in range(reps):
        t = time.perf_counter()
        fn(r)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"p50_ms": statistics.median(times), "p95_ms": times[min(len(times) - 1, int(0.95 * len(times)))]}


def run(progress: bool = True, quick: bool = False, n: int | None = None, reps: int | None = None) -> dict:
    n = int(n or os.environ.get("QINGLANG_BENCH_SEARCH_N") or (50_000 if quick else DEFAULT_N))
    reps = reps or (15 if quick else 40)
    with tempfile.TemporaryDirectory(prefix="qinglang-bench-search-") as tmp:
        path = str(Path(tmp) / "index.db")
        index = EmbeddedIndex(path)
        fill_s = _fill(index, n, progress)
        raw = sqlite3.connect(path)
        terms = ["赌博", "诈骗", "刷单", "百家乐", "谣言"]
        sev = [["high"], ["high", "critical"], ["medium"]]
        plat = [["website"], ["app"], ["iptv", "ott"]]

        def baseline(_: int) -> Any:
            return raw.execute("SELECT doc FROM hits ORDER BY ts DESC LIMIT 50").fetchall()

        def newest(_: int) -> Any:
            return index.search(HitQuery(size=50, facets=False, histogram=False))

        def newest_facets(_: int) -> Any:
            return index.search(HitQuery(size=50))

        def one_broad_filter(r: int) -> Any:
            return index.search(HitQuery(severity=[["medium"], ["low"], ["high"]][r % 3], size=50))

        def text_filters(r: int) -> Any:
            return index.search(HitQuery(q=terms[r % 5], severity=sev[r % 3], platform=plat[r % 3], size=50))

        figures = {
            "baseline_bare_select": _measure(baseline, reps),
            "newest_page": _measure(newest, reps),
            "newest_page_facets": _measure(newest_facets, max(5, reps // 4)),
            "text_2_filters": _measure(text_filters, reps),
            "one_broad_filter_facets": _measure(one_broad_filter, max(5, reps // 4)),
        }
        sample = text_filters(0)
        raw.close()
        index.close()
    base = figures["baseline_bare_select"]["p50_ms"] or 1e-6
    result: dict[str, Any] = {"n": n, "fill_seconds": round(fill_s, 1), "docs_per_second": round(n / fill_s)}
    for name, fig in figures.items():
        result[name] = {**{k: round(v, 3) for k, v in fig.items()}, "ratio_p50": round(fig["p50_ms"] / base, 1)}
    result["text_2_filters_total"] = sample.total
    if progress:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"search over {n:,} hits (baseline: bare SELECT … ORDER BY ts DESC LIMIT 50)")
        for col in ("query", "p50 ms", "p95 ms", "× baseline p50"):
            table.add_column(col)
        for name in figures:
            r = result[name]
            table.add_row(name, f"{r['p50_ms']:.2f}", f"{r['p95_ms']:.2f}", f"{r['ratio_p50']:.1f}")
        Console().print(table)
        Console().print(f"filled in {fill_s:.1f}s ({result['docs_per_second']:,} docs/s)")
    return result


if __name__ == "__main__":  # pragma: no cover
    run()
