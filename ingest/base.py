"""The one source-plugin interface and the context every plugin samples with.

A plugin turns a ``Source`` into a stream of ``Sample`` records
(``samples(source, ctx)``). It never talks to the bus: the worker produces
what the plugin yields. Large media goes to ``ctx.blobs`` (claim check).

Plugins are chosen by the source kind and then by the locator
(``plugin_for(source)``): a website is read by the crawler, an app or comment
feed by the feed connector, IPTV/OTT/file sources by the PyAV media reader;
a ``file`` source whose locator is a ``.jsonl`` file is a feed, an ``.html``
file a page.

Errors a plugin survives (a dead page, a malformed line, a lost stream) go to
``ctx.report_error`` with the source id and reason: logged, counted, and the
plugin goes on. Errors that end the source (an unreadable local file) are
raised as ``QinglangError`` subclasses.
"""

from __future__ import annotations

import abc
import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterator

from core.blobs import BlobStore
from core.errors import BadInput
from core.events import Sample, Source, SourceKind

log = logging.getLogger("qinglang.ingest")


def digest(*parts: str | bytes) -> str:
    """Content hash used for change detection (pages, items)."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8") if isinstance(p, str) else p)
        h.update(b"\x1f")
    return h.hexdigest()[:32]


class StateStore(abc.ABC):
    """Small per-source key -> digest memory: unchanged content produces nothing."""

    @abc.abstractmethod
    def get(self, source_id: str, key: str) -> str | None: ...

    @abc.abstractmethod
    def put(self, source_id: str, key: str, value: str) -> None: ...

    def changed(self, source_id: str, key: str, value: str) -> bool:
        """True (and remembered) when ``key`` now has a different ``value``."""
        if self.get(source_id, key) == value:
            return False
        self.put(source_id, key, value)
        return True


class MemoryState(StateStore):
    def __init__(self) -> None:
        self._data: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def get(self, source_id: str, key: str) -> str | None:
        with self._lock:
            return self._data.get((source_id, key))

    def put(self, source_id: str, key: str, value: str) -> None:
        with self._lock:
            self._data[(source_id, key)] = value


@dataclass
class IngestContext:
    """What a plugin may use while sampling one source."""

    blobs: BlobStore
    state: StateStore = field(default_factory=MemoryState)
    settings: Any = None  # core.settings.Settings (auth headers for feeds)
    stop: threading.Event = field(default_factory=threading.Event)
    deadline: float | None = None  # time.monotonic() after which live sources end
    on_error: Callable[[Source, str], None] | None = None
    extras: dict[str, Any] = field(default_factory=dict)  # e.g. media clip buffers by source id
    errors: list[tuple[str, str]] = field(default_factory=list)  # (source id, reason), bounded

    max_kept_errors: ClassVar[int] = 200

    def report_error(self, source: Source, reason: str) -> None:
        """Log and count an error the plugin survives; never raises."""
        log.warning("source %s (%s): %s", source.id, source.kind, reason)
        if len(self.errors) < self.max_kept_errors:
            self.errors.append((source.id, reason))
        if self.on_error is not None:
            try:
                self.on_error(source, reason)
            except Exception:  # noqa: BLE001 - health bookkeeping must not stop sampling
                log.exception("error callback failed for source %s", source.id)

    def should_stop(self) -> bool:
        if self.stop.is_set():
            return True
        return self.deadline is not None and time.monotonic() >= self.deadline

    def sleep(self, seconds: float) -> bool:
        """Sleep unless stopped (or past the deadline); True when it should stop."""
        if self.deadline is not None:
            seconds = min(seconds, max(0.0, self.deadline - time.monotonic()))
        self.stop.wait(seconds)
        return self.should_stop()


class SourcePlugin(abc.ABC):
    """One kind of source reader. Register instances with ``register``."""

    name: ClassVar[str]
    kinds: ClassVar[tuple[SourceKind, ...]]

    def accepts(self, source: Source) -> bool:
        """Whether this plugin reads ``source`` (kind already matched)."""
        return True

    def is_live(self, source: Source) -> bool:
        """Live sources never end by themselves: the worker gives them a thread."""
        return False

    @abc.abstractmethod
    def samples(self, source: Source, ctx: IngestContext) -> Iterator[Sample]:
        """Samples of ``source`` in media/time order; ends when the source ends or ctx stops."""


_PLUGINS: list[SourcePlugin] = []


def register(plugin: SourcePlugin) -> SourcePlugin:
    _PLUGINS[:] = [p for p in _PLUGINS if p.name != plugin.name]
    _PLUGINS.append(plugin)
    return plugin


def plugins() -> list[SourcePlugin]:
    _load_builtin()
    return list(_PLUGINS)


def _load_builtin() -> None:
    # Importing registers them; late import keeps PyAV/selectolax off the path of light users.
    import importlib

    for name in ("ingest.web", "ingest.feeds", "ingest.media"):
        importlib.import_module(name)


def plugin_for(source: Source) -> SourcePlugin:
    """The plugin for a source's kind and locator, or ``BadInput`` saying why none fits."""
    _load_builtin()
    kind = SourceKind(source.kind)
    for plugin in _PLUGINS:
        if kind in plugin.kinds and plugin.accepts(source):
            return plugin
    raise BadInput(
        f"no ingest plugin reads source {source.id} (kind {kind.value}, locator {source.locator!r})",
        hint="websites need http(s) URLs; iptv/ott/file need a media URL or path; "
        "app/comments need a .jsonl file or an http(s) JSON API",
    )


def locator_scheme(locator: str) -> str:
    """``http``, ``udp``, ... or ``file`` for plain paths."""
    head, sep, _ = locator.partition("://")
    if sep and head.isascii() and head.replace("+", "").isalnum():
        return head.lower()
    return "file"


def local_path(locator: str) -> str:
    return locator[7:] if locator.startswith("file://") else locator
