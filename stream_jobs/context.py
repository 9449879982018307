"""What handlers need, opened once per process: adapters, matcher, media engines."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from core.alerts import AlertStore
from core.blobs import BlobStore
from core.errors import MissingExtra
from core.index import HitIndex
from core.services import Services
from core.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class HandlerContext:
    settings: Settings
    blobs: BlobStore
    index: HitIndex
    alerts: AlertStore
    matcher_provider: Callable[[], Any] | None = None  # -> object with .match(text) -> list[Finding]
    language: Any = None  # language-standards detector (detectors.language), optional
    media_engines: dict[str, Any] = field(default_factory=dict)  # shared asr / ocr / fingerprint engines
    clipper: Callable[[Any], str | None] | None = None  # Hit -> evidence clip blob ref or None (ingest.clips)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_services(cls, services: Services) -> HandlerContext:
        from qinglang.wiring import migrate_all

        settings = services.settings
        migrate_all(settings.db_url)
        ctx = cls(
            settings=settings, blobs=services.blobs, index=services.index,
            alerts=AlertStore(services.db, window_seconds=settings.alert_window_seconds),
        )
        ctx.matcher_provider = _live_matcher(services)
        ctx.language = _language_detector()
        ctx.media_engines = _media_engines(services)
        ctx.clipper = _clipper(services)
        from core.index.tokenize import warm_up

        warm_up()  # else the first hits a process indexes wait ~1-2 s for jieba's dictionary
        return ctx

    def match_text(self, text: str, origin: str) -> list[Any]:
        findings: list[Any] = []
        matcher = self.matcher_provider() if self.matcher_provider else None
        if matcher is not None:
            findings.extend(matcher.match(text))
        if self.language is not None and origin in ("ocr", "page", "title", "asr"):
            findings.extend(self.language.detect(text))
        return findings

    def media_pipeline(self, source_id: str, state: dict[str, Any] | None) -> Any:
        from detectors.media import MediaPipeline

        pipeline = MediaPipeline(self.settings_media_options(source_id), **self.media_engines)
        if state:
            pipeline.set_state(state)
        return pipeline

    def settings_media_options(self, source_id: str) -> Any:
        from detectors.media import MediaOptions

        opts = getattr(self.settings, "media_options", None) or {}
        return MediaOptions(**opts) if isinstance(opts, dict) else opts


def _live_matcher(services: Services) -> Callable[[], Any] | None:
    try:
        from detectors.lists.live import LiveMatcher
        from detectors.lists.sql import SqlListStore
    except ImportError as exc:  # pragma: no cover - only while lists are absent
        log.warning("negative-list matcher unavailable: %s", exc)
        return None
    live = LiveMatcher(SqlListStore(services.db))
    return live.current


def _clipper(services: Services) -> Callable[[Any], str | None] | None:
    """Evidence clips of media hits, cut without re-encoding (None when ingest is absent)."""
    try:
        from ingest.clips import from_services as clip_cutter
    except ImportError as exc:  # pragma: no cover - only without the ingest package
        log.warning("evidence clips unavailable: %s", exc)
        return None
    return clip_cutter(services)


def _language_detector() -> Any:
    try:
        from detectors.language import LanguageDetector
    except ImportError:  # pragma: no cover
        return None
    return LanguageDetector()


def _media_engines(services: Services) -> dict[str, Any]:
    """ASR / OCR / fingerprint engines shared by every source; missing extras are skipped with a note."""
    engines: dict[str, Any] = {}
    wanted = set(getattr(services.settings, "media_engines", None) or ["asr", "ocr", "fingerprints"])
    try:
        from detectors import media
    except ImportError:  # pragma: no cover
        return engines
    make = getattr(media, "make_engines", None)
    if make is None:
        return engines
    try:
        engines = make(services, wanted)
    except MissingExtra as exc:
        log.warning("%s (%s)", exc.message, exc.hint)
    return engines
