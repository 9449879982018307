"""Banned-clip fingerprints: import, store (SQLite; PostgreSQL with QINGLANG_TEST_PG), index, matching."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from core.services import Services
from core.settings import get_settings, reset_settings_cache
from detectors.fingerprint.detector import FingerprintDetector
from detectors.fingerprint.importer import import_clip
from detectors.fingerprint.index import MultiIndex, linear_query
from detectors.fingerprint.store import FingerprintStore
from detectors.media import scan_file

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not installed (makes the test clips)")
BANNED = "mandelbrot=s=640x360:r=25,trim=duration=8"
OTHER = "life=s=640x360:r=25:mold=10:ratio=0.2:death_color=#204060:life_color=#f0c040,trim=duration=6"


def ff(*args: str) -> None:
    subprocess.run([FFMPEG, "-loglevel", "error", "-y", *args], check=True, timeout=180)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if FFMPEG is None:
        pytest.skip("ffmpeg is not installed")
    d = tmp_path_factory.mktemp("clips")
    out = {k: d / f"{k}.mp4" for k in ("banned", "other", "reencoded", "rescaled", "cropped", "boxed", "stream")}
    x264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast"]
    ff("-f", "lavfi", "-i", BANNED, *x264, "-crf", "18", str(out["banned"]))
    ff("-f", "lavfi", "-i", OTHER, *x264, "-crf", "18", str(out["other"]))
    ff("-i", str(out["banned"]), *x264, "-crf", "38", str(out["reencoded"]))
    ff("-i", str(out["banned"]), "-vf", "scale=320:180", *x264, "-crf", "28", str(out["rescaled"]))
    ff("-i", str(out["banned"]), "-vf", "crop=iw*0.9:ih*0.9,scale=640:360", *x264, "-crf", "28", str(out["cropped"]))
    ff("-i", str(out["banned"]), "-vf", "scale=480:270,pad=640:360:80:45:black", *x264, "-crf", "28",
       str(out["boxed"]))
    # other 0-6 s, banned (re-encoded) 6-14 s, other 14-20 s
    ff("-i", str(out["other"]), "-i", str(out["reencoded"]), "-i", str(out["other"]), "-filter_complex",
       "[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]", "-map", "[v]", *x264, "-crf", "23", str(out["stream"]))
    return out


@pytest.fixture()
def services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("QINGLANG_DATA_DIR", str(tmp_path / "data"))
    reset_settings_cache()
    svc = Services(get_settings())
    yield svc
    svc.close()
    reset_settings_cache()


def _scan(path: Path, index) -> list:
    return list(scan_file(str(path), {"fingerprint"}, fingerprints=index, options={"keyframe_interval": 1.0}))


@needs_ffmpeg
def test_import_then_find_copies_and_not_unrelated(services, clips):
    summary = import_clip(services, "banned-clips", clips["banned"], user="tester")
    assert summary["frames"] >= 25 and summary["threshold"] == 31 and summary["min_run"] == 3
    store = FingerprintStore(services.db)
    assert store.count() == summary["frames"]
    assert store.clips("banned-clips")[0]["id"] == summary["clip_id"]
    index = store.load_index()
    for copy in ("banned", "reencoded", "rescaled", "cropped", "boxed"):
        found = _scan(clips[copy], index)
        assert len(found) == 1, (copy, [f.to_json() for f in found])
        f = found[0]
        assert f.detector == "fingerprint" and f.values["list"] == "banned-clips"
        assert f.values["clip_id"] == summary["clip_id"] and f.start <= 1.0 and f.end >= 6.0
    assert _scan(clips["other"], index) == []


@needs_ffmpeg
def test_timecodes_inside_a_longer_stream(services, clips):
    import_clip(services, "banned-clips", clips["banned"])
    index = FingerprintStore(services.db).load_index()
    found = _scan(clips["stream"], index)
    assert len(found) == 1
    assert abs(found[0].start - 6.0) <= 1.0 and abs(found[0].end - 14.0) <= 1.5


@needs_ffmpeg
def test_reimport_replaces_and_threshold_is_per_list(services, clips):
    a = import_clip(services, "strict", clips["banned"], threshold=2, min_run=3)
    b = import_clip(services, "strict", clips["banned"])
    store = FingerprintStore(services.db)
    assert a["clip_id"] == b["clip_id"] and store.count() == b["frames"]
    assert store.lists()["strict"] == {"threshold": 2, "min_run": 3}
    # a heavily re-encoded copy is too far for a threshold of 2
    assert _scan(clips["reencoded"], store.load_index()) == []


def test_bad_clip_is_a_clear_error(services, tmp_path):
    from core.errors import MediaError

    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    with pytest.raises(MediaError, match="not a readable media file"):
        import_clip(services, "banned-clips", bad)


def test_min_run_and_gaps():
    det_cls = FingerprintDetector
    ex = det_cls.examples()[0]
    assert [(f.start, f.end) for f in det_cls.run_example(ex)] == [(2.0, 8.0)]
    # only two matching keyframes: below the minimum run of 3
    short = {"clip": ex.input["clip"], "stream": ex.input["stream"][:3] + ex.input["stream"][4:]}
    assert det_cls.run_example(type(ex)("short", short, [])) == []


def test_multi_index_equals_linear_scan():
    rng = np.random.default_rng(5)
    words = rng.integers(0, 2**63, (20000, 4), dtype=np.uint64)
    index = MultiIndex(words)
    for k in range(30):
        q = words[k * 7].copy()
        for b in rng.choice(256, int(rng.integers(0, 40)), replace=False):
            q[b // 64] ^= np.uint64(1) << np.uint64(b % 64)
        got, gd = index.query(q, 31)
        want, wd = linear_query(words, q, 31)
        assert sorted(zip(got.tolist(), gd.tolist(), strict=False)) == sorted(zip(want.tolist(), wd.tolist(), strict=False))


@pytest.mark.postgres
@pytest.mark.skipif(not os.environ.get("QINGLANG_TEST_PG"), reason="set QINGLANG_TEST_PG to a PostgreSQL URL")
def test_store_on_postgres():
    import uuid

    from core.db import Database
    from qinglang.wiring import migrate_all

    url = os.environ["QINGLANG_TEST_PG"]
    migrate_all(url)
    db = Database(url)
    store = FingerprintStore(db)
    name = f"pg-{uuid.uuid4().hex[:8]}"
    store.ensure_list(name, threshold=20)
    h = bytes(range(32))
    store.add_clip(name, f"{name}-clip", "clip.mp4", 2.0, [(0.0, h, 100), (0.5, h, 90)], "tester")
    index = store.load_index()
    assert (name, f"{name}-clip", 0.0, 0) in index.search(h)
    db.dispose()
