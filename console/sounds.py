"""The alert sound: a short two-tone beep written with the standard library (no binary to trust).

``python -m console.sounds`` rewrites console/static/beep.wav.
"""

from __future__ import annotations

import io
import math
import struct
import wave
from pathlib import Path

BEEP = Path(__file__).with_name("static") / "beep.wav"


def beep_wav(rate: int = 22050, seconds: float = 0.35) -> bytes:
    frames = bytearray()
    for i in range(int(rate * seconds)):
        t = i / rate
        envelope = max(0.0, min(1.0, t / 0.01, (seconds - t) / 0.05))
        tone = 880 if t < seconds / 2 else 1320
        frames += struct.pack("<h", int(12000 * envelope * math.sin(2 * math.pi * tone * t)))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return buf.getvalue()


def ensure_beep(path: Path = BEEP) -> Path:
    if not path.exists():
        path.write_bytes(beep_wav())
    return path


if __name__ == "__main__":  # pragma: no cover
    BEEP.write_bytes(beep_wav())
    print(BEEP)
