"""The demo sources through the embedded stack: every planted violation is
indexed exactly once with the right source, detector and timecode; nothing else is.
A crash test kills the jobs process with SIGKILL mid-run and checks the index
ends with the same hits as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from core.index import HitQuery
from qinglang.demo import media as demo_media
from qinglang.demo.sources import COMMENT_TERMS, PAGE_TERM
from tests.e2e.conftest import make_services

TOL = 0.6  # seconds; frames are sampled at 2 fps in the demo profile


def _ingest_demo(data_dir: Path) -> None:
    from ingest.worker import IngestWorker
    from qinglang.cmd_demo import prepare_demo

    services = make_services(data_dir)
    site, sources, _ = prepare_demo(services, with_users=False)
    try:
        worker = IngestWorker(services)
        for src in sources:
            assert worker.run_source_once(src) > 0, src.id
    finally:
        site.stop()
        services.close()


def _all_hits(data_dir: Path) -> list[dict]:
    services = make_services(data_dir)
    try:
        services.index.refresh()
        return list(services.index.scan(HitQuery()))
    finally:
        services.close()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    from stream_jobs.runner import run_until_idle

    data_dir = tmp_path_factory.mktemp("demo") / "var"
    _ingest_demo(data_dir)
    services = make_services(data_dir)
    try:
        run_until_idle(services, timeout=900)
    finally:
        services.close()
    return data_dir, _all_hits(data_dir)


def test_every_planted_violation_once_and_nothing_else(demo_run):
    _, hits = demo_run
    summary = sorted((h["source_id"], h["detector"], h.get("term") or "") for h in hits)
    expected = sorted(
        [("demo-tv", p.detector, "") for p in demo_media.PLANTED]
        + [("demo-tv", "keyword", "网络赌博"), ("demo-site", "keyword", PAGE_TERM)]
        + [("demo-comments", "keyword", t) for t in COMMENT_TERMS.values()]
    )
    assert summary == expected, summary
    assert len({h["id"] for h in hits}) == len(hits)


def test_technical_timecodes(demo_run):
    _, hits = demo_run
    by_detector = {h["detector"]: h for h in hits if h["source_id"] == "demo-tv" and h["detector"] != "keyword"}
    for planted in demo_media.PLANTED:
        ev = by_detector[planted.detector]["evidence"]
        assert abs(ev["media_start"] - planted.start) <= TOL, (planted, ev)
        assert abs(ev["media_end"] - planted.end) <= TOL, (planted, ev)


def test_subtitle_hit_has_timecode_and_frame(demo_run):
    _, hits = demo_run
    (ocr_hit,) = [h for h in hits if h["source_id"] == "demo-tv" and h["detector"] == "keyword"]
    ev = ocr_hit["evidence"]
    assert ocr_hit["origin"] == "ocr"
    assert demo_media.SUBTITLE[0] - TOL <= ev["media_start"] <= demo_media.SUBTITLE[0] + 1.5
    assert ev["frame"], "an OCR hit carries its frame as evidence"
    assert ev["snippet"][ev["start"]:ev["end"]] == ocr_hit["matched"]


def test_alerts_fold_hits(demo_run):
    from core.alerts import AlertStore

    data_dir, hits = demo_run
    services = make_services(data_dir)
    try:
        alerts, total = AlertStore(services.db).list(limit=1000)
    finally:
        services.close()
    assert sum(a.count for a in alerts) == len(hits)
    assert Counter(a.source_id for a in alerts)["demo-comments"] == len(COMMENT_TERMS)


def test_sigkill_mid_run_loses_and_doubles_nothing(tmp_path):
    import shutil

    from stream_jobs.runner import run_until_idle

    data_dir = tmp_path / "var"
    _ingest_demo(data_dir)
    # the same ingested bus, processed without interruption, is the reference
    ref_dir = tmp_path / "reference"
    shutil.copytree(data_dir, ref_dir)
    ref_services = make_services(ref_dir)
    try:
        run_until_idle(ref_services, timeout=900)
    finally:
        ref_services.close()
    reference = _all_hits(ref_dir)
    assert reference
    env = dict(os.environ, QINGLANG_DATA_DIR=str(data_dir))
    cmd = [sys.executable, "-m", "qinglang", "jobs"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    watch = make_services(data_dir)  # opened once: the poll below must be quicker than the runner's batches
    try:
        # kill as soon as the first hits are durable but work remains
        deadline = time.monotonic() + 300
        killed_mid_run = False
        while time.monotonic() < deadline:
            time.sleep(0.02)
            n = watch.index.count()
            if n >= 1:
                killed_mid_run = n < len(reference)
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        watch.close()
        if proc.poll() is None:
            proc.kill()
    assert killed_mid_run, "the runner finished before it could be killed; the test proved nothing"
    rc = subprocess.run(cmd + ["--until-idle"], env=env, capture_output=True, text=True, timeout=900)
    assert rc.returncode == 0, rc.stderr[-2000:]
    after = _all_hits(data_dir)
    assert sorted(h["id"] for h in after) == sorted(h["id"] for h in reference)
    # alerts folded every hit exactly once, too
    from core.alerts import AlertStore

    services = make_services(data_dir)
    try:
        alerts, _ = AlertStore(services.db).list(limit=1000)
    finally:
        services.close()
    assert sum(a.count for a in alerts) == len(reference)
