"""Versioned event schemas (JSON on the bus). See DESIGN.md "Event schemas".

Every derived record has a deterministic id computed from its inputs
(``make_id``), so a replay after a crash overwrites instead of duplicating.
Extend these models; never rename a field.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, overload

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


def make_id(prefix: str, *parts: object) -> str:
    """Deterministic id: ``prefix-<20 hex>`` of the parts, order-sensitive."""
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode("utf-8"))
        h.update(b"\x1f")
    return f"{prefix}-{h.hexdigest()[:20]}"


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def assume_utc(dt: datetime) -> datetime: ...


@overload
def assume_utc(dt: None) -> None: ...


def assume_utc(dt: datetime | None) -> datetime | None:
    """``dt`` with UTC as its zone if it has none (SQLite hands datetimes back naive); None stays None."""
    if dt is None:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def as_utc(dt: datetime) -> datetime:
    """``dt`` converted to UTC; a naive ``dt`` is taken to be UTC already."""
    return assume_utc(dt).astimezone(UTC)


class Topic(StrEnum):
    SAMPLES = "qinglang.samples"
    TEXTS = "qinglang.texts"
    HITS = "qinglang.hits"
    ALERTS = "qinglang.alerts"
    CASE_EVENTS = "qinglang.case-events"
    DEAD_LETTER = "qinglang.dead-letter"


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore", use_enum_values=True)
    schema_version: int = SCHEMA_VERSION
    topic: ClassVar[Topic]
    if TYPE_CHECKING:
        id: str  # every concrete event declares its own ``id`` field

    def key(self) -> str:
        """Bus key: the source id (per-source order)."""
        return str(getattr(self, "source_id", None) or self.id)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class SourceKind(StrEnum):
    WEBSITE = "website"
    APP = "app"
    IPTV = "iptv"
    OTT = "ott"
    COMMENTS = "comments"
    FILE = "file"


class SamplingProfile(BaseModel):
    frames_per_second: float = 1.0  # technical checks
    keyframe_interval: float = 2.0  # seconds between OCR / fingerprint frames
    audio_chunk_seconds: float = 10.0
    audio_overlap_seconds: float = 1.0
    recrawl_seconds: float = 900.0
    silent_after_seconds: float = 300.0  # source health: no sample for this long


class Source(Event):
    id: str
    kind: SourceKind
    name: str
    operator: str = ""
    licence: str = ""
    locator: str
    tags: list[str] = Field(default_factory=list)
    profile: SamplingProfile = Field(default_factory=SamplingProfile)
    language: str = "zh"
    enabled: bool = True
    # plugin options (crawler patterns/depth, feed connector, HLS variant, ...); see ingest/
    options: dict[str, Any] = Field(default_factory=dict)

    def key(self) -> str:
        return self.id


class SampleKind(StrEnum):
    VIDEO_FRAME = "video_frame"
    AUDIO_CHUNK = "audio_chunk"
    PAGE = "page"
    TEXT = "text"
    COMMENT = "comment"
    MEDIA_END = "media_end"  # end of a stream/file: closes open technical segments


class Sample(Event):
    topic: ClassVar[Topic] = Topic.SAMPLES
    id: str
    source_id: str
    kind: SampleKind
    captured_at: datetime
    media_start: float | None = None  # seconds of media time
    media_end: float | None = None
    blob: str | None = None  # claim check into the blob store
    text: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class TextOrigin(StrEnum):
    ASR = "asr"
    OCR = "ocr"
    PAGE = "page"
    COMMENT = "comment"
    TITLE = "title"


class TextSegment(BaseModel):
    start: int  # character offset into Text.text
    end: int
    media_start: float | None = None
    media_end: float | None = None
    box: list[list[float]] | None = None  # OCR polygon, pixel coordinates


class Text(Event):
    topic: ClassVar[Topic] = Topic.TEXTS
    id: str
    sample_id: str
    source_id: str
    origin: TextOrigin
    text: str
    captured_at: datetime
    segments: list[TextSegment] = Field(default_factory=list)
    blob: str | None = None  # frame or clip this text came from
    metadata: dict[str, Any] = Field(default_factory=dict)


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


SEVERITY_RANK = {s.value: i for i, s in enumerate(Severity)}


class Evidence(BaseModel):
    snippet: str = ""
    start: int | None = None  # offsets of the match inside snippet
    end: int | None = None
    text_id: str | None = None
    frame: str | None = None  # blob ref
    clip: str | None = None  # blob ref
    media_start: float | None = None
    media_end: float | None = None
    box: list[list[float]] | None = None


class Hit(Event):
    topic: ClassVar[Topic] = Topic.HITS
    id: str
    sample_id: str
    source_id: str
    detector: str
    list_id: str | None = None
    list_name: str | None = None
    entry_id: str | None = None
    list_version: int | None = None
    term: str | None = None
    matched: str | None = None
    normalized: str | None = None
    rules: list[str] = Field(default_factory=list)
    category: str = "technical"
    severity: Severity = Severity.MEDIUM
    evidence: Evidence = Field(default_factory=Evidence)
    confidence: float = 1.0
    detected_at: datetime
    text: str = ""  # full text the hit was found in (searchable)
    origin: str | None = None  # text origin or media kind
    platform: str | None = None  # source kind
    program: str | None = None
    value: float | None = None  # detector measurement (e.g. loudness LUFS)


class AlertState(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    DISMISSED = "dismissed"
    LINKED = "linked"


class Alert(Event):
    topic: ClassVar[Topic] = Topic.ALERTS
    id: str
    key_source: str
    key_rule: str
    source_id: str
    first_seen: datetime
    last_seen: datetime
    count: int = 1
    severity: Severity = Severity.MEDIUM
    state: AlertState = AlertState.NEW
    detector: str = ""
    category: str = ""
    list_name: str | None = None
    term: str | None = None
    last_hit_id: str | None = None
    case_id: str | None = None


class DeadLetter(Event):
    topic: ClassVar[Topic] = Topic.DEAD_LETTER
    id: str
    original_topic: str
    record_key: str | None = None
    handler: str
    reason: str
    original: Any = None
    failed_at: datetime = Field(default_factory=utcnow)


def alert_id_for(source_id: str, rule: str, window_start: datetime) -> str:
    return make_id("alr", source_id, rule, window_start.isoformat())
