"""Evidence for people: highlighted text pieces, clip offsets, OCR boxes.

Highlighting returns plain slices (before, match, after); templates escape
each one, so hit text is never marked safe.
"""

from __future__ import annotations

from typing import Any

AUDIO = {"wav", "mp3", "ogg", "opus", "m4a", "aac"}
VIDEO = {"mp4", "webm", "ts", "mkv"}
CONTEXT = 300


def split_at(text: str, start: int | None, end: int | None) -> tuple[str, str, str] | None:
    if start is None or end is None or not (0 <= start < end <= len(text)):
        return None
    return text[:start], text[start:end], text[end:]


def highlight_snippet(hit: dict[str, Any]) -> tuple[str, str, str]:
    ev = hit.get("evidence") or {}
    snippet = ev.get("snippet") or ""
    parts = split_at(snippet, ev.get("start"), ev.get("end"))
    if parts:
        return parts
    return _by_search(snippet, hit) or (snippet, "", "")


def _by_search(text: str, hit: dict[str, Any]) -> tuple[str, str, str] | None:
    for needle in (hit.get("matched"), hit.get("term")):
        if needle and needle in text:
            i = text.index(needle)
            return text[:i], needle, text[i + len(needle):]
    return None


def highlight_full(hit: dict[str, Any], radius: int = CONTEXT) -> tuple[str, str, str, bool, bool]:
    """The full text around the match: (before, match, after, cut_before, cut_after)."""
    text = hit.get("text") or ""
    ev = hit.get("evidence") or {}
    snippet = ev.get("snippet") or ""
    parts = None
    if snippet and ev.get("start") is not None and snippet in text:
        base = text.index(snippet)
        parts = split_at(text, base + int(ev["start"]), base + int(ev.get("end") or 0))
    parts = parts or _by_search(text, hit) or (text, "", "")
    before, match, after = parts
    cut_before, cut_after = len(before) > radius, len(after) > radius
    return (before[-radius:] if cut_before else before, match,
            after[:radius] if cut_after else after, cut_before, cut_after)


def clip_kind(ref: str | None) -> str | None:
    if not ref:
        return None
    ext = ref.rsplit(".", 1)[-1]
    return "audio" if ext in AUDIO else "video" if ext in VIDEO else None


def box_points(box: Any) -> str:
    """An OCR polygon as SVG ``points`` ("x,y x,y …"); '' when absent or malformed."""
    try:
        return " ".join(f"{float(p[0]):.1f},{float(p[1]):.1f}" for p in box or [])
    except (TypeError, ValueError, IndexError):
        return ""
