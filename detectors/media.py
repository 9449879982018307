"""The media façade the stream jobs and ``qinglang scan`` call, one pipeline per source.

``MediaPipeline`` feeds every enabled media detector in media-time order:
frames to the picture checks (black, freeze, colour bars) and, on keyframes,
to OCR and fingerprints; audio to silence, loudness and ASR; both to the
signal-loss check. It returns findings and texts (``TextOut``: speech and
on-screen text with their times), and checkpoints every detector's state as
one JSON-serialisable dict. ``scan_file`` decodes one file or URL and yields
findings, passing speech and on-screen text through a matcher.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
from sqlalchemy.exc import SQLAlchemyError

from core.errors import BadInput, MediaError, MissingExtra, QinglangError
from detectors.base import Finding
from detectors.qos._base import make_options
from detectors.qos.bars import ColourBarsDetector
from detectors.qos.black import BlackDetector
from detectors.qos.freeze import FreezeDetector
from detectors.qos.loudness import LoudnessDetector
from detectors.qos.signal_loss import SignalLossDetector
from detectors.qos.silence import SilenceDetector

FRAME_CHECKS = {"black": BlackDetector, "freeze": FreezeDetector, "colour_bars": ColourBarsDetector}
AUDIO_CHECKS = {"silence": SilenceDetector, "loudness": LoudnessDetector}
QOS = set(FRAME_CHECKS) | set(AUDIO_CHECKS) | {"signal_loss"}
ALL = QOS | {"asr", "ocr", "fingerprint", "language", "keyword"}


def expand_only(only: set[str] | None) -> set[str]:
    """Detector names from ``--only`` words ("qos" = every technical check)."""
    if not only:
        return set(ALL)
    out: set[str] = set()
    for word in only:
        word = word.strip()
        if word == "qos":
            out |= QOS
        elif word in ALL:
            out.add(word)
        elif word:
            raise BadInput(f"unknown detector {word!r}", hint=f"choose from qos, {', '.join(sorted(ALL))}")
    return out


@dataclass
class TextOut:
    origin: str  # "asr" | "ocr"
    text: str
    start: float
    end: float
    box: list[list[float]] | None = None
    confidence: float = 1.0
    words: list[list[Any]] | None = None  # ASR: [start, end, word] in stream time, joined they give text


def span_of(tx: TextOut, char_start: int | None, char_end: int | None) -> tuple[float, float]:
    """Stream times of characters [char_start, char_end) of a text: from its words when known."""
    if not tx.words or char_start is None or char_end is None:
        return tx.start, tx.end
    joined = "".join(str(w[2]) for w in tx.words)
    shift = len(joined) - len(joined.lstrip())
    a, b = char_start + shift, char_end + shift
    pos, hit = 0, []
    for w in tx.words:
        n = len(str(w[2]))
        if pos < b and pos + n > a:
            hit.append(w)
        pos += n
    if not hit:
        return tx.start, tx.end
    return float(hit[0][0]), float(hit[-1][1])


@dataclass
class MediaOptions:
    fps: float = 1.0  # technical checks sample rate
    keyframe_interval: float = 2.0  # OCR and fingerprint frames
    audio_chunk: float = 1.0
    enabled: set[str] | None = None  # None: all
    black_suppresses_freeze: bool = True  # a black stretch is reported as black only
    detectors: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-detector options (per source)

    def __post_init__(self) -> None:
        if self.enabled is not None:
            self.enabled = expand_only(set(self.enabled))

    @classmethod
    def of(cls, options: Any) -> MediaOptions:
        return make_options(cls, options, "media")


class EngineFactory:
    """Makes one stateful detector per source over a shared engine (models are cached per process)."""

    def __init__(self, cls: type, options: dict[str, Any] | None = None) -> None:
        self.cls = cls
        self.options = dict(options or {})
        cls(self.options)  # load the model now: fail early, share it later

    def __call__(self, overrides: dict[str, Any] | None = None) -> Any:
        return self.cls({**self.options, **(overrides or {})})


def _per_source(engine: Any, overrides: dict[str, Any] | None) -> Any:
    """A detector instance as given, or a fresh one from an ``EngineFactory``."""
    if engine is None or hasattr(engine, "get_state"):
        return engine
    return engine(overrides)


def list_hotwords(services: Any, limit: int = 100) -> list[str]:
    """Terms of the enabled negative lists (most severe first) as ASR hotwords; [] when unavailable."""
    try:
        from detectors.lists.live import LiveMatcher
        from detectors.lists.store import SqlListStore

        return list(LiveMatcher(SqlListStore(services.db)).hotwords(limit))
    except (ImportError, QinglangError, SQLAlchemyError):
        return []


def make_engines(services: Any, wanted: set[str], *, hotwords: list[str] | None = None) -> dict[str, Any]:
    """Shared engines for ``MediaPipeline(options, **engines)``: asr/ocr factories, the fingerprint index.

    A missing extra raises ``MissingExtra`` only when it is the sole engine asked for; otherwise that
    engine is left out (the caller logs which ones it got).
    """
    settings = services.settings
    engines: dict[str, Any] = {}
    problems: list[MissingExtra] = []
    if "asr" in wanted and hotwords is None:
        hotwords = list_hotwords(services)
    if "asr" in wanted:
        from detectors.asr import AsrDetector

        try:
            engines["asr"] = EngineFactory(AsrDetector, {
                "model": settings.asr_model, "language": settings.asr_language,
                "compute_type": settings.asr_compute_type, "data_dir": str(settings.data_path),
                "hotwords": list(hotwords or [])})
        except MissingExtra as exc:
            problems.append(exc)
    if "ocr" in wanted:
        from detectors.ocr import OcrDetector

        try:
            engines["ocr"] = EngineFactory(OcrDetector, {})
        except MissingExtra as exc:
            problems.append(exc)
    if "fingerprints" in wanted or "fingerprint" in wanted:
        from detectors.fingerprint.store import FingerprintStore

        try:
            engines["fingerprints"] = FingerprintStore(services.db).load_index()
        except (QinglangError, SQLAlchemyError) as exc:  # tables absent before migration: run without
            import logging

            logging.getLogger(__name__).warning("fingerprint index not loaded: %s", exc)
    if problems and not engines:
        raise problems[0]
    return engines


def _text_outs(findings: list[Finding], origin: str) -> list[TextOut]:
    return [TextOut(origin, f.text or "", float(f.start or 0.0), float(f.end or 0.0), f.box, f.confidence,
                    f.values.get("words")) for f in findings if f.text]


# Defaults for monitored streams, under any per-source option: sampled frames are
# re-encoded (JPEG on the bus, H.264 GOP boundaries), so a still picture differs by
# up to about -55 dB between frames; -50 dB keeps one frozen stretch in one piece.
STREAM_DEFAULTS: dict[str, dict[str, Any]] = {"freeze": {"noise": 0.003}}
BLACK_SPANS_KEPT = 16


class MediaPipeline:
    def __init__(self, options: Any = None, *, asr: Any = None, ocr: Any = None, fingerprints: Any = None) -> None:
        self.options = MediaOptions.of(options)
        enabled = self.options.enabled if self.options.enabled is not None else ALL
        per = {n: {**STREAM_DEFAULTS.get(n, {}), **(self.options.detectors.get(n) or {})}
               for n in set(STREAM_DEFAULTS) | set(self.options.detectors)}
        # a black picture is also a still one: report it once, as black
        self.black_spans: list[list[float]] = []
        self.frame_checks = {n: c(per.get(n)) for n, c in FRAME_CHECKS.items() if n in enabled}
        self.audio_checks = {n: c(per.get(n)) for n, c in AUDIO_CHECKS.items() if n in enabled}
        self.signal = SignalLossDetector(per.get("signal_loss")) if "signal_loss" in enabled else None
        self.asr = _per_source(asr, per.get("asr")) if "asr" in enabled else None
        self.ocr = _per_source(ocr, per.get("ocr")) if "ocr" in enabled else None
        if fingerprints is not None and "fingerprint" in enabled:
            from detectors.fingerprint.detector import FingerprintDetector

            if not isinstance(fingerprints, FingerprintDetector):
                fingerprints = FingerprintDetector(fingerprints, per.get("fingerprint"))
            self.fingerprint: Any = fingerprints
        else:
            self.fingerprint = None
        self.final_texts: list[TextOut] = []

    def _restartable(self, checks: dict[str, Any], name: str, call: Callable[[Any], list[Finding]]) -> list[Finding]:
        det = checks[name]
        try:
            return call(det)
        except BadInput:
            if det.last_t is None:
                raise
            # media time jumped back (a new stream, a seek): close and start over
            out = det.finish(det.last_t)
            checks[name] = type(det)(det.options)
            return out + call(checks[name])

    def _black_first(self, findings: list[Finding]) -> list[Finding]:
        """Drop a freeze that is mostly a black stretch already reported as black."""
        for f in findings:
            if f.detector == "black" and f.start is not None and f.end is not None:
                self.black_spans = (self.black_spans + [[float(f.start), float(f.end)]])[-BLACK_SPANS_KEPT:]
        if not self.options.black_suppresses_freeze:
            return findings
        kept = []
        for f in findings:
            if f.detector == "freeze" and f.start is not None and f.end is not None:
                length = max(float(f.end) - float(f.start), 1e-6)
                covered = sum(max(0.0, min(float(f.end), b1) - max(float(f.start), b0)) for b0, b1 in self.black_spans)
                if covered >= 0.5 * length:
                    continue
            kept.append(f)
        return kept

    def on_frame(self, frame_bgr: np.ndarray, t: float, keyframe: bool = False) -> tuple[list[Finding], list[TextOut]]:
        findings: list[Finding] = []
        texts: list[TextOut] = []
        for name in list(self.frame_checks):
            findings += self._restartable(self.frame_checks, name, lambda d: d.feed_frame(frame_bgr, t))
        findings = self._black_first(findings)
        if self.signal is not None:
            findings += self.signal.feed_frame(frame_bgr, t)
        if keyframe:
            if self.fingerprint is not None:
                findings += self.fingerprint.feed_frame(frame_bgr, t)
            if self.ocr is not None:
                texts += _text_outs(self.ocr.feed_frame(frame_bgr, t), "ocr")
        return findings, texts

    def on_audio(self, pcm: np.ndarray, sr: int, t0: float) -> tuple[list[Finding], list[TextOut]]:
        findings: list[Finding] = []
        for name in list(self.audio_checks):
            findings += self._restartable(self.audio_checks, name, lambda d: d.feed_audio(pcm, sr, t0))
        if self.signal is not None:
            findings += self.signal.feed_audio(pcm, sr, t0)
        texts = _text_outs(self.asr.feed_audio(pcm, sr, t0), "asr") if self.asr is not None else []
        return findings, texts

    def finish_all(self, t_end: float) -> tuple[list[Finding], list[TextOut]]:
        """Close every open segment and flush buffered speech/on-screen text."""
        findings: list[Finding] = []
        for det in list(self.frame_checks.values()) + list(self.audio_checks.values()):
            findings += det.finish(t_end)
        findings = self._black_first(findings)
        if self.signal is not None:
            findings += self.signal.finish(t_end)
        if self.fingerprint is not None:
            findings += self.fingerprint.finish(t_end)
        texts: list[TextOut] = []
        if self.ocr is not None:
            texts += _text_outs(self.ocr.finish(t_end), "ocr")
        if self.asr is not None:
            texts += _text_outs(self.asr.finish(t_end), "asr")
        return findings, texts

    def finish(self, t_end: float) -> list[Finding]:
        """Findings closed at the end; the texts flushed with them are left in ``final_texts``."""
        findings, self.final_texts = self.finish_all(t_end)
        return findings

    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {n: d.get_state() for n, d in {**self.frame_checks, **self.audio_checks}.items()}
        for name, det in (("signal_loss", self.signal), ("asr", self.asr), ("ocr", self.ocr),
                          ("fingerprint", self.fingerprint)):
            if det is not None:
                state[name] = det.get_state()
        state["black_spans"] = self.black_spans
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        self.black_spans = [list(map(float, b)) for b in state.get("black_spans") or []]
        for name, det in {**self.frame_checks, **self.audio_checks}.items():
            if name in state:
                det.set_state(state[name])
        for name, part in (("signal_loss", self.signal), ("asr", self.asr), ("ocr", self.ocr),
                           ("fingerprint", self.fingerprint)):
            if part is not None and name in state:
                part.set_state(state[name])


def text_findings(texts: list[TextOut], matcher: Any, language: Any) -> list[Finding]:
    """Speech/on-screen text as findings, plus keyword hits (matcher) and language findings (OCR)."""
    out: list[Finding] = []
    for tx in texts:
        values: dict[str, Any] = {}
        if tx.words:
            values["words"] = tx.words
        out.append(Finding(detector=tx.origin, start=round(tx.start, 3), end=round(tx.end, 3), text=tx.text,
                           box=tx.box, category="text", severity="info", confidence=round(tx.confidence, 3),
                           values=values))
        if matcher is not None:
            for hit in matcher.match(tx.text):
                start, end = span_of(tx, hit.char_start, hit.char_end)
                out.append(dataclasses.replace(hit, detector="keyword", start=round(start, 3), end=round(end, 3),
                                               text=tx.text, box=tx.box,
                                               values={**hit.values, "origin": tx.origin,
                                                       "text_start": round(tx.start, 3), "text_end": round(tx.end, 3)}))
        if language is not None and tx.origin == "ocr":
            for f in language.detect(tx.text):
                out.append(dataclasses.replace(f, start=round(tx.start, 3), end=round(tx.end, 3), text=tx.text,
                                               values={**f.values, "origin": tx.origin}))
    return out


def scan_file(path_or_url: str, only: set[str] | None = None, matcher: Any = None,
              progress: Callable[[float, float | None], None] | None = None, *, options: Any = None,
              asr: Any = None, ocr: Any = None, fingerprints: Any = None,
              notes: Callable[[str], None] | None = None) -> Iterator[Finding]:
    """Every enabled media detector over one file or stream, findings in media-time order of closing.

    ``asr``/``ocr``: detectors to use (built from defaults when enabled and the
    extra is installed; a missing extra is reported through ``notes`` and skipped).
    ``progress(media_seconds, duration or None)`` is called as decoding goes on.
    """
    from detectors.media_decode import decode, open_media

    enabled = expand_only(only)
    opts = MediaOptions.of(options)
    opts.enabled = enabled
    opts.detectors.setdefault("loudness", {}).setdefault("report_integrated", "always")
    if "asr" in enabled and asr is None:
        try:
            from detectors.asr import AsrDetector

            asr = AsrDetector(opts.detectors.get("asr"))
        except MissingExtra as exc:
            if notes:
                notes(f"speech recognition skipped: {exc}")
    if "ocr" in enabled and ocr is None:
        try:
            from detectors.ocr import OcrDetector

            ocr = OcrDetector(opts.detectors.get("ocr"))
        except MissingExtra as exc:
            if notes:
                notes(f"on-screen text skipped: {exc}")
    language = None
    if "language" in enabled:
        from detectors.language import LanguageDetector

        language = LanguageDetector(opts.detectors.get("language"))
    if "keyword" not in enabled:
        matcher = None
    pipe = MediaPipeline(opts, asr=asr, ocr=ocr, fingerprints=fingerprints)
    duration = None
    if progress is not None:
        try:
            c = open_media(path_or_url)
            duration = float(c.duration) / 1e6 if c.duration else None
            c.close()
        except MediaError:
            pass
    want_video = bool(pipe.frame_checks or pipe.ocr or pipe.fingerprint or pipe.signal)
    want_audio = bool(pipe.audio_checks or pipe.asr or pipe.signal)
    rate = 48000 if "loudness" in pipe.audio_checks else 16000  # K-weighting needs the full band
    for item in decode(path_or_url, fps=opts.fps, keyframe_interval=opts.keyframe_interval,
                       audio_chunk=opts.audio_chunk, video=want_video, audio=want_audio, audio_rate=rate):
        if item.kind == "frame":
            found, texts = pipe.on_frame(item.frame, item.t, item.keyframe)  # type: ignore[arg-type]
        elif item.kind == "audio":
            found, texts = pipe.on_audio(item.pcm, rate, item.t)  # type: ignore[arg-type]
        elif item.kind == "error":
            found, texts = [Finding(detector="media", start=item.t, end=item.t, category="technical",
                                    severity="medium", values={"reason": item.reason})], []
        else:
            found, texts = pipe.finish_all(item.t)
        yield from found
        yield from text_findings(texts, matcher, language)
        if progress is not None:
            progress(item.t, duration)
