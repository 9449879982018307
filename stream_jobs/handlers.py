"""Stream handlers: plain functions of one event (or a batch of hits).

The embedded runner (stream_jobs/runner.py) and the Faust agents
(stream_jobs/faust_app.py) are thin shells around these, so both modes give
the same hits for the same input. Every output is ``(topic, key, value)``.

- ``handle_sample``: a Sample → Texts (page/comment text, OCR, ASR) and
  technical Hits (black, freeze, silence, ...). Per-source media state goes in
  and comes out as a JSON-serialisable dict.
- ``handle_text``: a Text → Hits (negative-list matcher, language standards).
- ``handle_hits``: Hits → the index (upsert by id) and alerts (idempotent fold).

Ids are deterministic, so a replay overwrites instead of duplicating.
"""

from __future__ import annotations

import io
import logging
import wave
from typing import Any, Iterable

import numpy as np
from pydantic import ValidationError

from core.errors import BadInput, MediaError
from core.events import (
    Evidence,
    Hit,
    Sample,
    SampleKind,
    Severity,
    Text,
    TextOrigin,
    TextSegment,
    Topic,
    make_id,
    utcnow,
)
from stream_jobs.context import HandlerContext

log = logging.getLogger(__name__)

Out = tuple[str, str | None, dict[str, Any]]
SNIPPET_RADIUS = 60
MAX_INDEXED_TEXT = 4000

_TEXT_ORIGIN = {
    SampleKind.PAGE.value: TextOrigin.PAGE,
    SampleKind.TEXT.value: TextOrigin.PAGE,
    SampleKind.COMMENT.value: TextOrigin.COMMENT,
}


def _parse(model: type[Any], value: dict[str, Any]) -> Any:
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise BadInput(
            f"invalid {model.__name__} record: {where}: {first.get('msg')}",
            hint=f"the producer must send a {model.__name__} as in core/events.py",
        ) from exc


# --------------------------------------------------------------------------- samples
def is_stateless(value: Any) -> bool:
    """A page/text/comment sample: its handling reads no per-source state, so replaying it is harmless."""
    return isinstance(value, dict) and str(value.get("kind")) in _TEXT_ORIGIN


def handle_sample(ctx: HandlerContext, value: dict[str, Any], state: dict[str, Any] | None) -> tuple[list[Out], dict[str, Any]]:
    sample: Sample = _parse(Sample, value)
    state = dict(state or {})
    outs: list[Out] = []
    kind = str(sample.kind)
    if kind in _TEXT_ORIGIN:
        outs.extend(_texts_of_document(sample))
        return outs, state
    outs.extend(_signal_hits(sample, state))
    pipeline = ctx.media_pipeline(sample.source_id, state.get("media"))
    if kind == SampleKind.VIDEO_FRAME.value:
        frame = _decode_frame(ctx, sample)
        findings, texts = pipeline.on_frame(frame, float(sample.media_start or 0.0), bool(sample.metadata.get("keyframe")))
    elif kind == SampleKind.AUDIO_CHUNK.value:
        pcm, sr = _decode_wav(ctx, sample)
        findings, texts = pipeline.on_audio(pcm, sr, float(sample.media_start or 0.0))
    elif kind == SampleKind.MEDIA_END.value:
        findings, texts = pipeline.finish_all(float(sample.media_start or 0.0))
    else:  # pragma: no cover - enum guards this
        raise BadInput(f"unknown sample kind {kind!r}", hint="see SampleKind in core/events.py")
    frames = _remember_frame(state, sample)
    for f in findings:
        outs.append(_out(_technical_hit(sample, f, frames)))
    for t in texts:
        outs.append(_out(_media_text(sample, t, _frame_at(frames, t.start))))
    state["media"] = pipeline.get_state()
    return outs, state


def _signal_hits(sample: Sample, state: dict[str, Any]) -> list[Out]:
    """Loss of signal / a silent source (reported by ingest) as a technical hit; recovery closes it.

    The hit id is fixed by the moment the loss began, so the closing write
    (with ``media_end``) overwrites the opening one in the index.
    """
    signal = sample.metadata.get("signal")
    lost = state.get("signal_lost")
    if signal in ("lost", "silent") and lost is None:
        lost = {"at": sample.media_start or 0.0, "captured": sample.captured_at.isoformat(), "kind": signal,
                "sample": sample.id}
        state["signal_lost"] = lost
        return [_out(_signal_hit(sample, lost, None))]
    if signal == "restored" and lost is not None:
        state["signal_lost"] = None
        return [_out(_signal_hit(sample, lost, sample.media_start))]
    return []


def _signal_hit(sample: Sample, lost: dict[str, Any], end: float | None) -> Hit:
    from datetime import datetime

    detector = "signal_loss" if lost["kind"] == "lost" else "source_silent"
    return Hit(
        id=make_id("hit", sample.source_id, detector, lost["captured"]), sample_id=lost["sample"],
        source_id=sample.source_id, detector=detector, category="technical",
        severity=Severity.HIGH if detector == "signal_loss" else Severity.MEDIUM,
        evidence=Evidence(snippet="", media_start=lost["at"], media_end=end),
        detected_at=datetime.fromisoformat(lost["captured"]), origin=str(sample.kind),
        platform=sample.metadata.get("platform"), program=sample.metadata.get("program"),
    )


def _texts_of_document(sample: Sample) -> list[Out]:
    outs: list[Out] = []
    origin = _TEXT_ORIGIN[str(sample.kind)]
    meta = dict(sample.metadata)
    title = str(meta.get("title") or "").strip()
    if title:
        outs.append(_out(Text(
            id=make_id("txt", sample.id, "title"), sample_id=sample.id, source_id=sample.source_id,
            origin=TextOrigin.TITLE, text=title, captured_at=sample.captured_at, metadata=meta,
        )))
    body = (sample.text or "").strip()
    if body:
        outs.append(_out(Text(
            id=make_id("txt", sample.id, str(origin)), sample_id=sample.id, source_id=sample.source_id,
            origin=origin, text=sample.text or "", captured_at=sample.captured_at, metadata=meta,
        )))
    return outs


def _decode_frame(ctx: HandlerContext, sample: Sample) -> np.ndarray:
    import cv2

    if not sample.blob:
        raise BadInput(f"video frame sample {sample.id} has no blob", hint="ingest must store the frame first")
    data = ctx.blobs.get(sample.blob)
    frame = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if frame is None:
        raise MediaError(f"frame {sample.blob} of sample {sample.id} is not a decodable image",
                         hint="check the ingest worker's frame encoder")
    return frame


def _decode_wav(ctx: HandlerContext, sample: Sample) -> tuple[np.ndarray, int]:
    if not sample.blob:
        raise BadInput(f"audio sample {sample.id} has no blob", hint="ingest must store the chunk first")
    data = ctx.blobs.get(sample.blob)
    try:
        with wave.open(io.BytesIO(data)) as w:
            sr, ch, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
            raw = w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise MediaError(f"audio chunk {sample.blob} is not a WAV file: {exc}", hint="ingest writes 16-bit PCM WAV") from exc
    if width != 2:
        raise MediaError(f"audio chunk {sample.blob} is {8 * width}-bit", hint="ingest writes 16-bit PCM WAV")
    pcm = np.frombuffer(raw, dtype=np.int16).astype(np.float32) / 32768.0
    if ch > 1:
        pcm = pcm.reshape(-1, ch).mean(axis=1)
    return pcm, sr


def _technical_hit(sample: Sample, f: Any, frames: list[list[Any]]) -> Hit:
    start = f.start if f.start is not None else sample.media_start
    frame = f.frame or _frame_at(frames, start if f.end is None else (float(start or 0) + float(f.end)) / 2)
    values = dict(getattr(f, "values", {}) or {})
    return Hit(
        id=make_id("hit", sample.source_id, f.detector, round(float(start or 0.0), 2), values.get("list"), f.term),
        sample_id=sample.id, source_id=sample.source_id, detector=f.detector,
        list_name=values.get("list"), list_id=values.get("list_id"), entry_id=values.get("entry_id"),
        list_version=values.get("list_version"), term=f.term, matched=f.matched,
        category=f.category or "technical", severity=Severity(f.severity or "medium"),
        evidence=Evidence(
            snippet=f.text or "", frame=frame or (sample.blob if str(sample.kind) == "video_frame" else None),
            media_start=start, media_end=f.end, box=f.box,
        ),
        confidence=f.confidence, detected_at=sample.captured_at, text=f.text or "",
        origin=str(sample.kind), platform=sample.metadata.get("platform"),
        program=sample.metadata.get("program"), value=f.value,
    )


RECENT_FRAMES = 64


def _remember_frame(state: dict[str, Any], sample: Sample) -> list[list[Any]]:
    """A short, bounded memory of recent keyframe blobs (evidence for texts found later)."""
    frames: list[list[Any]] = list(state.get("frames") or [])
    if str(sample.kind) == SampleKind.VIDEO_FRAME.value and sample.blob and sample.metadata.get("keyframe"):
        frames.append([float(sample.media_start or 0.0), sample.blob])
        frames = frames[-RECENT_FRAMES:]
        state["frames"] = frames
    return frames


def _frame_at(frames: list[list[Any]], t: float | None) -> str | None:
    if t is None or not frames:
        return None
    best = min(frames, key=lambda f: abs(f[0] - float(t)))
    return str(best[1]) if abs(best[0] - float(t)) <= 5.0 else None


def _media_text(sample: Sample, t: Any, frame: str | None = None) -> Text:
    origin = TextOrigin(str(t.origin))
    seg = TextSegment(start=0, end=len(t.text), media_start=t.start, media_end=t.end, box=getattr(t, "box", None))
    return Text(
        id=make_id("txt", sample.source_id, str(origin), round(float(t.start or 0.0), 2), t.text),
        sample_id=sample.id, source_id=sample.source_id, origin=origin, text=t.text,
        captured_at=sample.captured_at, segments=[seg],
        blob=frame if origin == TextOrigin.OCR else None,
        metadata={k: v for k, v in sample.metadata.items() if k in ("program", "channel", "platform", "url")},
    )


# --------------------------------------------------------------------------- texts
def handle_text(ctx: HandlerContext, value: dict[str, Any]) -> list[Out]:
    text: Text = _parse(Text, value)
    findings = list(ctx.match_text(text.text, str(text.origin)))
    return [_out(_text_hit(text, f)) for f in findings]


def _segment_at(text: Text, offset: int) -> TextSegment | None:
    for seg in text.segments:
        if seg.start <= offset < max(seg.end, seg.start + 1):
            return seg
    return text.segments[0] if len(text.segments) == 1 else None


def _text_hit(text: Text, f: Any) -> Hit:
    values = dict(getattr(f, "values", {}) or {})
    cs, ce = int(f.char_start or 0), int(f.char_end or 0)
    lo, hi = max(0, cs - SNIPPET_RADIUS), min(len(text.text), ce + SNIPPET_RADIUS)
    seg = _segment_at(text, cs)
    indexed = text.text if len(text.text) <= MAX_INDEXED_TEXT else text.text[lo:hi]
    return Hit(
        id=make_id("hit", text.id, f.detector, values.get("entry_id") or f.term, cs, ce),
        sample_id=text.sample_id, source_id=text.source_id, detector=f.detector,
        list_id=values.get("list_id"), list_name=values.get("list"), entry_id=values.get("entry_id"),
        list_version=values.get("list_version"), term=f.term, matched=f.matched or text.text[cs:ce],
        normalized=values.get("normalized"), rules=list(f.rules or []),
        category=f.category, severity=f.severity,
        evidence=Evidence(
            snippet=text.text[lo:hi], start=cs - lo, end=ce - lo, text_id=text.id, frame=text.blob,
            media_start=seg.media_start if seg else None, media_end=seg.media_end if seg else None,
            box=seg.box if seg else None,
        ),
        confidence=f.confidence, detected_at=text.captured_at, text=indexed, origin=str(text.origin),
        platform=text.metadata.get("platform"), program=text.metadata.get("program"),
    )


# --------------------------------------------------------------------------- hits
def handle_hits(ctx: HandlerContext, values: Iterable[dict[str, Any]]) -> list[Out]:
    hits: list[Hit] = [_parse(Hit, v) for v in values]
    if not hits:
        return []
    _attach_clips(ctx, hits)
    ctx.index.upsert([h.to_json() for h in hits])
    return [(Topic.ALERTS.value, a.source_id, a.to_json()) for a in ctx.alerts.fold_many(hits)]


def _attach_clips(ctx: HandlerContext, hits: list[Hit]) -> None:
    """Evidence clips of media hits (``ctx.clipper``); a hit without one is indexed all the same."""
    if ctx.clipper is None:
        return
    for h in hits:
        if h.evidence.clip or h.evidence.media_start is None:
            continue
        try:
            h.evidence.clip = ctx.clipper(h)
        except Exception:  # noqa: BLE001 - a clip never stops the hits
            log.warning("no evidence clip for hit %s", h.id, exc_info=True)


def _out(event: Any) -> Out:
    return (event.topic.value, event.key(), event.to_json())


def dead_letter(original_topic: str, key: str | None, value: Any, handler: str, reason: str) -> Out:
    from core.events import DeadLetter

    dl = DeadLetter(
        id=make_id("dlq", original_topic, key, repr(value)[:2000], handler), original_topic=original_topic,
        record_key=key, handler=handler, reason=reason, original=value, failed_at=utcnow(),
    )
    return (Topic.DEAD_LETTER.value, key, dl.to_json())


def refused_output(topic: str, key: str | None, value: dict[str, Any], stage: str, reason: str) -> Out:
    """A dead letter for an output the bus would not take (e.g. over the record limit).

    The original is too big (or otherwise unacceptable) to carry, so the dead letter
    holds its topic, id and size.
    """
    summary = {"topic": topic, "id": value.get("id"), "bytes": len(repr(value))}
    return dead_letter(topic, key, summary, stage, f"output refused: {reason}")
