"""Generates the demo programme: a short video with planted technical faults
and a burned-in Chinese subtitle, encoded with PyAV (H.264 + AAC in MP4).

Timeline (seconds; the e2e test asserts these):
- 0–4    moving picture, tone
- 4–8    black picture                      → black
- 8–12   moving picture; audio silent 9–12   → silence
- 12–16  frozen picture                      → freeze
- 16–22  moving picture, subtitle with a listed term → ocr + keyword
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from core.errors import ConfigError

FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)

WIDTH, HEIGHT, FPS, SR = 640, 360, 25, 48000
DURATION = 22.0
BLACK = (4.0, 8.0)
SILENCE = (9.0, 12.0)
FREEZE = (12.0, 16.0)
SUBTITLE = (16.0, 22.0)
SUBTITLE_TEXT = "本台提醒：远离网络赌博"


@dataclass(frozen=True)
class Planted:
    detector: str
    start: float
    end: float
    term: str | None = None


PLANTED = (
    Planted("black", *BLACK),
    Planted("silence", *SILENCE),
    Planted("freeze", *FREEZE),
)


def find_cjk_font() -> str:
    for path in FONT_CANDIDATES:
        if Path(path).is_file():
            return path
    raise ConfigError(
        "no CJK font found for the demo subtitle",
        hint="run scripts/setup.sh (installs Debian's fonts-noto-cjk) or apt-get install fonts-noto-cjk",
    )


def _subtitle_overlay(text: str) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(find_cjk_font(), 34)
    img = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    box = draw.textbbox((0, 0), text, font=font)
    tw, th = box[2] - box[0], box[3] - box[1]
    x, y = (WIDTH - tw) // 2, HEIGHT - th - 40
    draw.rectangle((x - 12, y - 10, x + tw + 12, y + th + 18), fill=(0, 0, 0, 200))
    draw.text((x - box[0], y - box[1]), text, font=font, fill=(255, 255, 255, 255))
    rgba = np.asarray(img)
    return rgba[:, :, :3].astype(np.float32), (rgba[:, :, 3:4].astype(np.float32) / 255.0)


def _moving_frame(t: float) -> np.ndarray:
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    r = 110 + 60 * np.sin(xx / 45.0 + t * 2.1)
    g = 100 + 60 * np.sin(yy / 37.0 - t * 1.7)
    b = 120 + 50 * np.sin((xx + yy) / 60.0 + t * 1.3)
    frame = np.stack([r, g, b], axis=-1)
    cx = int((WIDTH - 80) * (0.5 + 0.45 * math.sin(t * 1.5)))
    frame[140:220, cx:cx + 80] = (230, 200, 40)
    return frame


def make_demo_video(path: Path) -> Path:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    sub_rgb, sub_alpha = _subtitle_overlay(SUBTITLE_TEXT)
    frozen = _moving_frame(FREEZE[0])
    with av.open(str(path), "w") as out:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        vs.options = {"preset": "veryfast", "crf": "23", "g": "50"}
        aus = out.add_stream("aac", rate=SR)
        aus.layout = "mono"
        n_frames = int(DURATION * FPS)
        for i in range(n_frames):
            t = i / FPS
            if BLACK[0] <= t < BLACK[1]:
                rgb = np.zeros((HEIGHT, WIDTH, 3), np.float32)
            elif FREEZE[0] <= t < FREEZE[1]:
                rgb = frozen
            else:
                rgb = _moving_frame(t)
            if SUBTITLE[0] <= t < SUBTITLE[1]:
                rgb = rgb * (1 - sub_alpha) + sub_rgb * sub_alpha
            frame = av.VideoFrame.from_ndarray(np.clip(rgb, 0, 255).astype(np.uint8), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            for pkt in vs.encode(frame):
                out.mux(pkt)
        for pkt in vs.encode():
            out.mux(pkt)
        # audio: a soft two-tone signal with a silent gap
        total = int(DURATION * SR)
        tt = np.arange(total, dtype=np.float64) / SR
        audio = 0.08 * np.sin(2 * np.pi * 440 * tt) + 0.04 * np.sin(2 * np.pi * 660 * tt)
        audio[int(SILENCE[0] * SR):int(SILENCE[1] * SR)] = 0.0
        pcm = (audio * 32767).astype(np.int16)
        step = 1024
        for k in range(0, total, step):
            chunk = pcm[k:k + step]
            af = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
            af.sample_rate = SR
            af.pts = k
            af.time_base = Fraction(1, SR)
            for pkt in aus.encode(af):
                out.mux(pkt)
        for pkt in aus.encode():
            out.mux(pkt)
    return path
