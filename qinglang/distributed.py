"""Helpers to drive the distributed mode from one process: isolated runs, Faust workers, waiting.

Used by the integration tests, ``bench/pipeline.py`` and the distributed demo.
An *isolated run* gets its own topic/group prefix on the broker and its own
alias/index prefix on the cluster, so runs never see each other's records.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Callable

from core.events import Sample, SampleKind, Topic

ROOT = Path(__file__).resolve().parent.parent
KAFKA = "127.0.0.1:9092"
ES = "127.0.0.1:9200"

# Page texts for planted violations: traditional characters (language standards) and
# negative-list terms (when the list store is available), plus clean texts.
VIOLATING = [
    "這個網站提供網絡賭博服務，歡迎下注",
    "本台節目推銷彩票，請撥打電話",
    "主播在直播間宣傳賭博網站",
]
CLEAN = [
    "今晚播出的电视剧很精彩",
    "新闻联播报道了各地的天气情况",
    "少儿频道正在播放动画片",
]
LIST_TERMS = ["赌博", "彩票", "賭博"]


@dataclass
class Isolated:
    """Settings (as environment variables) of one isolated distributed run."""

    data_dir: Path
    tag: str = field(default_factory=lambda: f"q{uuid.uuid4().hex[:8]}")
    kafka: str = KAFKA
    es: str = ES

    @property
    def env(self) -> dict[str, str]:
        return {
            "QINGLANG_DATA_DIR": str(self.data_dir),
            "QINGLANG_BUS": f"kafka://{self.kafka}?prefix={self.tag}.",
            "QINGLANG_INDEX": f"elasticsearch://{self.es}?alias={self.tag}-hits&prefix={self.tag}-hits",
        }

    def apply(self) -> None:
        """Put this run's settings into os.environ (and drop the settings cache)."""
        from core.settings import reset_settings_cache

        os.environ.update(self.env)
        reset_settings_cache()


def page_samples(n: int, *, sources: int = 6, violation_every: int = 4,
                 t0: datetime | None = None, tag: str = "") -> list[Sample]:
    """``n`` page samples over ``sources`` sources; every ``violation_every``-th one plants a violation."""
    t0 = t0 or datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    out = []
    for i in range(n):
        bad = i % violation_every == 0
        text = (VIOLATING if bad else CLEAN)[i % 3] + f" #{i}"
        out.append(Sample(
            id=f"smp-{tag}{i:07d}", source_id=f"src-{i % sources}", kind=SampleKind.PAGE,
            captured_at=t0 + timedelta(seconds=i), text=text,
            metadata={"platform": "website", "program": f"prog-{i % 5}", "planted": bad},
        ))
    return out


def produce_samples(bus: Any, samples: list[Sample], batch: int = 500) -> None:
    for i in range(0, len(samples), batch):
        bus.produce_many(Topic.SAMPLES.value, [(s.key(), s.to_json()) for s in samples[i:i + batch]])
    bus.flush()


def load_lists(settings: Any) -> bool:
    """Best effort: a small negative list in the data dir's list store (False when lists are unavailable)."""
    try:
        from core.db import Database
        from detectors.lists.store import SqlListStore  # type: ignore[attr-defined]
        from detectors.lists.types import EntryIn
        from qinglang.wiring import migrate_all
    except ImportError:
        return False
    migrate_all(settings.db_url)
    db = Database(settings.db_url)
    try:
        store = SqlListStore(db)
        store.ensure_list("gambling", "keyword", "gambling", "high")
        store.upsert_entries("gambling", [EntryIn(term=t) for t in LIST_TERMS])
    finally:
        db.dispose()
    return True


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """One Faust worker (``python -m stream_jobs.faust_app``) in its own process group."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "stream_jobs.faust_app"], cwd=str(ROOT), stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, **env, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))},
            start_new_session=True,
        )


def stop_worker(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, wait: float = 30.0) -> int:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            return proc.wait(wait)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    return proc.wait(10)


def wait_for(cond: Callable[[], bool], timeout: float, what: str, every: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cond():
                return
        except Exception:  # noqa: BLE001 - a service may be restarting; keep waiting
            pass
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def drained(bus: Any, group: str = "qinglang-jobs") -> bool:  # the Faust app id
    """True when the Faust group has committed everything on samples, texts and hits."""
    topics = [Topic.SAMPLES.value, Topic.TEXTS.value, Topic.HITS.value]
    return bus.lag(group, topics) == 0 and sum(bus.end_offsets(Topic.SAMPLES.value).values()) > 0
