"""On-screen text: Chinese captions rendered with Noto CJK are read, merged over time, boxes kept."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rapidocr_onnxruntime", reason="the 'ocr' extra is not installed")

from detectors.ocr import OcrDetector, norm_text  # noqa: E402

FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
pytestmark = pytest.mark.skipif(not FONT.exists(), reason="Debian fonts-noto-cjk is not installed")

CAPTION_A = "欢迎收看新闻联播节目"
CAPTION_B = "这里有网络赌博广告"


def frame(text: str, w: int = 1280, h: int = 720, bg: tuple[int, int, int] = (40, 60, 90)) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    im = Image.new("RGB", (w, h), bg)
    d = ImageDraw.Draw(im)
    d.rectangle([100, 100, 400, 300], fill=(200, 120, 50))  # some picture content
    if text:
        d.text((w // 2, int(h * 0.88)), text, font=ImageFont.truetype(str(FONT), 44), fill=(255, 255, 255),
               anchor="mm", stroke_width=2, stroke_fill=(0, 0, 0))
    return np.array(im)[:, :, ::-1].copy()


@pytest.fixture(scope="module")
def timeline() -> list[tuple[float, np.ndarray]]:
    blank, a, b = frame(""), frame(CAPTION_A), frame(CAPTION_B)
    # keyframes every 0.5 s: blank 0-1, A 1-4, B 4-6, blank 6-7
    return [(i * 0.5, blank if i < 2 else a if i < 8 else b if i < 12 else blank) for i in range(14)]


@pytest.mark.parametrize("band", [None, (0.75, 1.0)], ids=["full-frame", "subtitle-band"])
def test_captions_read_and_merged(timeline, band):
    det = OcrDetector({"band": band})
    out = []
    for t, f in timeline:
        out += det.feed_frame(f, t)
    out += det.finish(7.0)
    assert [(norm_text(f.text or ""), f.start, f.end) for f in out] == [(CAPTION_A, 1.0, 4.0), (CAPTION_B, 4.0, 6.0)]
    # unchanged keyframes were not read again
    assert det.reads <= 5 and det.skipped >= 9
    # boxes are in frame pixels, around the caption near the bottom
    for f in out:
        xs = [p[0] for p in f.box]
        ys = [p[1] for p in f.box]
        assert 300 < min(xs) < max(xs) < 980 and 580 < min(ys) < max(ys) < 700
        assert f.values["boxes"] and f.detector == "ocr"


def test_band_crop_is_not_enlarged():
    det = OcrDetector({"band": (0.8, 1.0)})
    det_pre = det.engine.text_det
    assert det_pre.limit_type == "max"


def test_state_round_trip_continues_the_open_caption(timeline):
    det = OcrDetector()
    out = []
    for t, f in timeline[:5]:
        out += det.feed_frame(f, t)
    state = json.loads(json.dumps(det.get_state()))
    det2 = OcrDetector()
    det2.set_state(state)
    for t, f in timeline[5:]:
        out += det2.feed_frame(f, t)
    out += det2.finish(7.0)
    assert [(norm_text(f.text or ""), f.start, f.end) for f in out] == [(CAPTION_A, 1.0, 4.0), (CAPTION_B, 4.0, 6.0)]
    assert det2.reads <= 3  # the first keyframe after the restore was not re-read


def test_frames_without_text_give_nothing():
    det = OcrDetector()
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 40, (360, 640, 3), dtype=np.uint8)
    assert det.feed_frame(noise, 0.0) + det.finish(1.0) == []


def test_only_the_changed_strip_is_read_and_other_lines_kept():
    from PIL import Image, ImageDraw, ImageFont

    def with_banner(caption: str) -> np.ndarray:
        img = frame(caption)
        im = Image.fromarray(img[:, :, ::-1].copy())
        ImageDraw.Draw(im).text((640, 60), "新闻直播间", font=ImageFont.truetype(str(FONT), 40), fill=(255, 255, 0),
                                anchor="mm")
        return np.array(im)[:, :, ::-1].copy()

    det = OcrDetector()
    seen_heights = []
    original = det.engine

    def engine(img, **kw):  # the real engine; the test only records the height it was given
        seen_heights.append(img.shape[0])
        return original(img, **kw)

    det.engine = engine
    out = []
    for t, cap in ((0.0, CAPTION_A), (2.0, CAPTION_A), (4.0, CAPTION_B), (6.0, CAPTION_B)):
        out += det.feed_frame(with_banner(cap), t)
    out += det.finish(8.0)
    assert [f.values["lines"] for f in out] == [["新闻直播间", CAPTION_A], ["新闻直播间", CAPTION_B]]
    assert seen_heights[0] == 720 and seen_heights[1] < 200  # the second read was the caption strip only
