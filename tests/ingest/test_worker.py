"""The scheduler: files once, live streams in their own threads, silence signalled once, disabled sources
stop, errors never stop the worker, Prometheus metrics per source kind."""

from __future__ import annotations

import socket
import threading
import time

from prometheus_client import generate_latest

from core.events import Source
from ingest.worker import IngestWorker

from .conftest import bus_samples


def wait_for(cond, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return False


def free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_scheduler_runs_sources_and_signals_silence(services, media_dir, tmp_path):
    worker = IngestWorker(services, poll_seconds=0.2)
    reg = worker.registry
    clip = reg.add(kind="file", name="片子", locator=str(media_dir / "clip.ts"))
    missing = reg.add(kind="file", name="丢失", locator=str(tmp_path / "missing.mp4"))
    quiet = reg.add(kind="iptv", name="无信号", locator=f"udp://127.0.0.1:{free_udp_port()}",
                    profile={"silent_after_seconds": 1.0},
                    options={"open_timeout": 0.5, "stall_seconds": 0.5, "reconnect_base": 0.2, "reconnect_max": 0.5})
    stop = threading.Event()
    t = threading.Thread(target=worker.run, args=(stop,))
    t.start()
    try:
        assert wait_for(lambda: reg.health(clip["id"])["last_run_at"] is not None)
        assert wait_for(lambda: reg.health(quiet["id"])["state"] == "silent")
        assert reg.health(missing["id"])["state"] == "error"
        assert "does not exist" in reg.health(missing["id"])["last_error"]
        assert worker._running(quiet["id"])  # the live reader keeps trying in its own thread
        first_reader = worker._threads[quiet["id"]]
        from datetime import timedelta

        from core.events import utcnow

        reg.boost(quiet["id"], 3, utcnow() + timedelta(hours=1), "complaint C-9: targeted monitoring")
        # the boost reaches the running stream: its reader restarts with the raised profile
        assert wait_for(lambda: worker._threads[quiet["id"]] is not first_reader and worker._running(quiet["id"]))
        reg.set_enabled(quiet["id"], False)
        assert wait_for(lambda: not worker._running(quiet["id"]))
        time.sleep(0.5)  # a few more passes: the file is not read again
    finally:
        stop.set()
        t.join(timeout=30)
    assert not t.is_alive()
    got = bus_samples(services.bus)
    from_clip = [s for s in got if s["source_id"] == clip["id"]]
    assert [s["kind"] for s in from_clip].count("media_end") == 1  # read exactly once
    assert sum(1 for s in from_clip if s["kind"] == "video_frame") == 3
    from_quiet = [s for s in got if s["source_id"] == quiet["id"]]
    signals = [s["metadata"].get("signal") for s in {s["id"]: s for s in from_quiet}.values()]
    # one loss (the restarted reader repeats it under the same deterministic id) and one silence
    assert signals.count("lost") == 1 and signals.count("silent") == 1
    silent = next(s for s in from_quiet if s["metadata"].get("signal") == "silent")
    assert silent["kind"] == "media_end" and silent["metadata"]["silent_seconds"] >= 1.0
    assert not [s for s in got if s["source_id"] == missing["id"]]
    metrics = generate_latest().decode()
    assert 'qinglang_ingest_samples_total{sample_kind="video_frame",source_kind="file"}' in metrics
    assert 'qinglang_ingest_errors_total{source_kind="file"}' in metrics


def test_run_source_once_by_id_and_boost(services, media_dir):
    from datetime import timedelta

    from core.events import utcnow

    worker = IngestWorker(services)
    row = worker.registry.add(kind="file", name="片子", locator=str(media_dir / "clip.ts"),
                              profile={"frames_per_second": 1, "keyframe_interval": 2})
    worker.registry.boost(row["id"], 2, utcnow() + timedelta(hours=1), "complaint C-7")
    worker.run_source_once(row["id"])
    frames = [s for s in bus_samples(services.bus) if s["kind"] == "video_frame"]
    assert len(frames) == 6  # 3 s at 2 fps while boosted
    assert sum(1 for f in frames if f["metadata"]["keyframe"]) == 3  # one per second
    assert isinstance(Source.model_validate(worker.registry.get(row["id"])), Source)
