"""The hit index. ``open_index(url)``: ``embedded://PATH`` (SQLite FTS5 with
jieba tokens, in this package) or ``elasticsearch://HOST:PORT``."""

from __future__ import annotations

from core.errors import ConfigError
from core.index.base import FACET_FIELDS, HitIndex, HitQuery, SearchResult


def open_index(url: str, **options: object) -> HitIndex:
    scheme, _, rest = url.partition("://")
    if scheme == "embedded":
        from core.index.embedded import EmbeddedIndex

        return EmbeddedIndex(rest, **options)  # type: ignore[arg-type]
    if scheme in ("elasticsearch", "es", "http", "https"):
        from core.index.elastic import ElasticIndex

        return ElasticIndex(url, **options)  # type: ignore[arg-type]
    raise ConfigError(
        f"unknown index URL {url!r}",
        hint="use embedded:///path/index.db or elasticsearch://127.0.0.1:9200",
    )


__all__ = ["FACET_FIELDS", "HitIndex", "HitQuery", "SearchResult", "open_index"]
