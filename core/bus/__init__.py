"""The bus: topics of keyed records, consumer groups, at-least-once delivery.

``open_bus(url)`` picks the implementation by URL scheme:
``embedded://PATH`` (SQLite log, in this package) or ``kafka://HOST:PORT``.
"""

from __future__ import annotations

from core.bus.base import Bus, Consumer, Record
from core.errors import ConfigError


def open_bus(url: str, **options: object) -> Bus:
    scheme, _, rest = url.partition("://")
    if scheme == "embedded":
        from core.bus.embedded import EmbeddedBus

        return EmbeddedBus(rest, **options)  # type: ignore[arg-type]
    if scheme == "kafka":
        from core.bus.kafka import KafkaBus

        return KafkaBus(rest, **options)  # type: ignore[arg-type]
    raise ConfigError(
        f"unknown bus URL {url!r}",
        hint="use embedded:///path/bus.db or kafka://127.0.0.1:9092",
    )


__all__ = ["Bus", "Consumer", "Record", "open_bus"]
