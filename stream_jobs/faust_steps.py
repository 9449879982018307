"""The synchronous batch steps the Faust agents run in worker threads (stream_jobs/faust_app.py).

``Jobs`` holds one worker's services and turns a batch of consumed records
(offset, key, value bytes) into encoded outputs (topic name on the broker,
key, value bytes) by calling the SAME handler functions as the embedded
runner. A record a handler rejects becomes a dead letter here; a backing
service that is down (``ServiceUnavailable``) propagates, so the agent backs
off and runs the batch again.
"""

from __future__ import annotations

import json
import logging
from functools import partial
from typing import Any, Callable

from core.errors import ConfigError, QinglangError, ServiceUnavailable
from core.events import Topic
from core.settings import Settings
from stream_jobs.handlers import (
    Out,
    dead_letter,
    handle_hits,
    handle_sample,
    handle_text,
    is_stateless,
    refused_output,
)

log = logging.getLogger(__name__)

Row = tuple[int, bytes | None, bytes | None]  # offset, key, value of a consumed record
Wire = tuple[str, bytes | None, bytes]  # topic name on the broker, key, value of an output


def decode(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return raw.decode("utf-8", "replace")


def key_of(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "replace")

def _guard(stage: str, topic: str, key: str | None, value: Any, fn: Callable[[], list[Out]]) -> list[Out]:
    """Run one handler call; a rejected record becomes a dead letter, a down service propagates."""
    try:
        if not isinstance(value, dict):
            raise QinglangError(f"record on {topic} is not a JSON object", hint="producers send event.to_json()")
        return fn()
    except ServiceUnavailable:
        raise
    except QinglangError as exc:
        log.warning("dead-letter %s key %s: %s", topic, key, exc.message)
        return [dead_letter(topic, key, value, stage, exc.message)]
    except Exception as exc:  # a bug or unexpected input: keep the stream going, keep the record
        log.exception("handler %s failed on %s key %s", stage, topic, key)
        return [dead_letter(topic, key, value, stage, f"{type(exc).__name__}: {exc}")]


class Jobs:
    """The services one worker needs, and the synchronous batch steps its agents run in threads."""

    def __init__(self, settings: Settings) -> None:
        from core.bus.kafka import KafkaBus
        from core.services import Services
        from stream_jobs.context import HandlerContext

        if not settings.bus_url.startswith("kafka://"):
            raise ConfigError(
                f"the distributed jobs need a Kafka bus, not {settings.bus_url}",
                hint="set QINGLANG_BUS=kafka://127.0.0.1:9092 (start it with `qinglang services start kafka`)",
            )
        self.settings = settings
        self.services = Services(settings)
        bus = self.services.bus
        assert isinstance(bus, KafkaBus)
        self.bus: KafkaBus = bus
        self.bus.ensure_topics([t.value for t in Topic], partitions=settings.kafka_partitions)
        self.ctx = HandlerContext.from_services(self.services)

    def encode(self, outs: list[Out]) -> list[Wire]:
        """Outputs as (topic name on the broker, key, value) bytes for the worker's producer.

        An output the bus would refuse (e.g. over the record limit) becomes a dead letter here,
        so one oversized record never blocks the batch it came with.
        """
        wire: list[Wire] = []
        for topic, key, value in outs:
            try:
                data = self.bus.encode(topic, value)
            except QinglangError as exc:
                log.warning("output to %s refused: %s", topic, exc.message)
                topic, key, value = refused_output(topic, key, value, "write", exc.message)
                data = self.bus.encode(topic, value)
            wire.append((self.bus.name(topic), None if key is None else key.encode("utf-8"), data))
        return wire

    def samples(self, batch: list[Row], states: dict[str, dict[str, Any]]
                ) -> tuple[list[Wire], dict[str, dict[str, Any]]]:
        """Fold a batch of samples; returns the outputs and the changed states (key -> {state, offset})."""
        outs: list[Out] = []
        changed: dict[str, dict[str, Any]] = {}
        # one key lives in one partition: in offset order, each source's samples fold in order, even
        # when a re-read after a rebalance put older records behind newer ones in this batch
        for offset, raw_key, raw in sorted(batch, key=lambda row: row[0]):
            key, value = key_of(raw_key), decode(raw)
            k = key or ""
            if is_stateless(value):  # text samples: no state to protect, so never skipped
                outs.extend(_guard("samples", Topic.SAMPLES.value, key, value,
                                   partial(lambda v: handle_sample(self.ctx, v, None)[0], value)))
                continue
            saved = changed.get(k) or states.get(k) or {}
            if offset <= int(saved.get("offset", -1)):
                continue  # media already folded into the saved state before a crash

            def run(saved: dict[str, Any] = saved, value: Any = value, k: str = k, offset: int = offset) -> list[Out]:
                got, new_state = handle_sample(self.ctx, value, saved.get("state"))
                changed[k] = {"state": new_state, "offset": offset}
                return got

            outs.extend(_guard("samples", Topic.SAMPLES.value, key, value, run))
        return self.encode(outs), changed

    def texts(self, batch: list[Row]) -> list[Wire]:
        outs: list[Out] = []
        for _, raw_key, raw in batch:
            key, value = key_of(raw_key), decode(raw)
            outs.extend(_guard("texts", Topic.TEXTS.value, key, value, partial(handle_text, self.ctx, value)))
        return self.encode(outs)

    def hits(self, batch: list[Row]) -> list[Wire]:
        decoded = [(key_of(k), decode(v)) for _, k, v in batch]
        values = [v for _, v in decoded]
        try:
            if not all(isinstance(v, dict) for v in values):
                raise ValueError("a record is not a JSON object")
            outs = handle_hits(self.ctx, values)
        except ServiceUnavailable:
            raise
        except Exception:  # a bad hit in the batch: handle them one by one, dead-letter the bad ones
            outs = []
            for key, value in decoded:
                outs.extend(_guard("hits", Topic.HITS.value, key, value, partial(handle_hits, self.ctx, [value])))
        return self.encode(outs)

    def close(self) -> None:
        self.services.close()
