"""Generated media with black, frozen and silent stretches at known places, and ffmpeg's own verdicts."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

FFMPEG = shutil.which("ffmpeg")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not installed (used as the reference)")

SIZE = "320x240"
MOVING = f"testsrc2=s={SIZE}:r=25"


def make_programme(path: Path) -> Path:
    """20 s: moving 0-5, black 5-9, moving 9-12, frozen 12-16, moving 16-20; audio silent 3-7 and 13-16.5."""
    inputs = [
        f"{MOVING}:d=5",
        f"color=c=black:s={SIZE}:r=25:d=4",
        f"{MOVING}:d=6,trim=start=3,setpts=PTS-STARTPTS",
        f"{MOVING}:d=1,trim=start_frame=0:end_frame=1,loop=loop=99:size=1:start=0,setpts=N/25/TB",
        f"{MOVING}:d=8,trim=start=4,setpts=PTS-STARTPTS",
        "sine=frequency=440:sample_rate=48000:duration=20,volume=0.3,"
        "volume=enable='between(t,3,7)+between(t,13,16.5)':volume=0",
    ]
    cmd = [FFMPEG, "-loglevel", "error", "-y"]
    for spec in inputs:
        cmd += ["-f", "lavfi", "-i", spec]
    cmd += ["-filter_complex", "[0:v][1:v][2:v][3:v][4:v]concat=n=5:v=1:a=0,format=yuv420p[v]",
            "-map", "[v]", "-map", "5:a", "-c:v", "ffv1", "-c:a", "pcm_s16le", str(path)]
    subprocess.run(cmd, check=True, timeout=120)
    return path


def ffmpeg_segments(path: Path) -> dict[str, list[tuple[float, float]]]:
    """black/freeze/silence segments as ffmpeg's blackdetect, freezedetect and silencedetect report them."""
    proc = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostats", "-i", str(path),
         "-vf", "blackdetect=d=2:pix_th=0.10:pic_th=0.98,freezedetect=n=0.001:d=2",
         "-af", "silencedetect=n=0.001:d=2", "-f", "null", "-"],
        capture_output=True, text=True, timeout=120, check=True)
    log = proc.stderr
    black = [(float(a), float(b)) for a, b in re.findall(r"black_start:([\d.]+) black_end:([\d.]+)", log)]
    fs = [float(x) for x in re.findall(r"freeze_start: ([\d.]+)", log)]
    fe = [float(x) for x in re.findall(r"freeze_end: ([\d.]+)", log)]
    ss = [float(x) for x in re.findall(r"silence_start: ([\d.]+)", log)]
    se = [float(x) for x in re.findall(r"silence_end: ([\d.]+)", log)]
    return {"black": black, "freeze": list(zip(fs, fe, strict=False)), "silence": list(zip(ss, se, strict=False))}


def ffmpeg_loudness(path: Path) -> float:
    proc = subprocess.run([FFMPEG, "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128", "-f", "null", "-"],
                          capture_output=True, text=True, timeout=120, check=True)
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", proc.stderr)[-1])


@pytest.fixture(scope="session")
def programme(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if FFMPEG is None:
        pytest.skip("ffmpeg is not installed")
    return make_programme(tmp_path_factory.mktemp("qos") / "programme.mkv")


@pytest.fixture(scope="session")
def reference(programme: Path) -> dict[str, list[tuple[float, float]]]:
    return ffmpeg_segments(programme)
