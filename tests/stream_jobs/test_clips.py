"""handle_hits attaches evidence clips to media hits; a hit that cannot have one is indexed all the same."""

from __future__ import annotations

import io

import av
import pytest

from core.alerts import AlertStore
from core.events import Evidence, Hit, utcnow
from ingest.clips import from_services as clip_cutter
from ingest.registry import SourceRegistry
from qinglang.wiring import migrate_all
from stream_jobs.context import HandlerContext
from stream_jobs.handlers import handle_hits
from tests.ingest.test_clips import make_media


@pytest.fixture
def ctx(services) -> HandlerContext:
    migrate_all(services.settings.db_url)
    return HandlerContext(settings=services.settings, blobs=services.blobs, index=services.index,
                          alerts=AlertStore(services.db), clipper=clip_cutter(services))


def _hit(hid: str, source_id: str, origin: str, at: float | None, **kw) -> dict:
    return Hit(id=hid, sample_id="smp-1", source_id=source_id, detector=kw.pop("detector", "black"),
               detected_at=utcnow(), origin=origin, evidence=Evidence(media_start=at, **kw)).to_json()


def test_media_hits_get_a_playable_clip(ctx, services, tmp_path):
    video = make_media(tmp_path / "programme.mp4")
    SourceRegistry(services.db).add(id="tv", kind="iptv", name="TV", locator=str(video))
    hits = [_hit("hit-black", "tv", "video_frame", 15.0, media_end=17.0),
            _hit("hit-ocr", "tv", "ocr", 16.2, detector="keyword", snippet="赌博"),
            _hit("hit-page", "tv", "page", None, detector="keyword", snippet="赌博")]
    handle_hits(ctx, hits)
    docs = {h["id"]: services.index.get(h["id"]) for h in hits}
    clip = docs["hit-black"]["evidence"]["clip"]
    assert clip and clip.endswith(".ts") and services.blobs.exists(clip)
    assert docs["hit-ocr"]["evidence"]["clip"] == clip  # the same ten seconds share one clip
    assert docs["hit-page"]["evidence"]["clip"] is None  # text without a timecode has none
    with av.open(io.BytesIO(services.blobs.get(clip))) as c:
        times = [f.time for f in c.decode(video=0)]
    assert times[0] <= 5.0 and times[-1] >= 25.0
    # a replay gives the same document: same id, same clip
    handle_hits(ctx, hits[:1])
    assert services.index.get("hit-black")["evidence"]["clip"] == clip
    assert services.index.count() == 3


def test_a_source_whose_file_is_gone_is_indexed_without_a_clip(ctx, services, tmp_path):
    video = make_media(tmp_path / "programme.mp4", seconds=4)
    SourceRegistry(services.db).add(id="tv", kind="file", name="TV", locator=str(video))
    video.unlink()
    outs = handle_hits(ctx, [_hit("hit-1", "tv", "video_frame", 2.0), _hit("hit-2", "gone", "asr", 3.0)])
    for hid in ("hit-1", "hit-2"):
        doc = services.index.get(hid)
        assert doc is not None and doc["evidence"]["clip"] is None
    assert len(outs) >= 1  # the alerts are folded all the same
