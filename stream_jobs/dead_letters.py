"""Dead letters: read them back and replay them after the cause is fixed.

A record a handler rejects (bad input, a bug) goes to ``qinglang.dead-letter``
as a ``DeadLetter`` with the reason and the original. Nothing is dropped, but
nothing comes back by itself either: once the producer or the handler is
fixed, ``replay`` writes the originals to their topics again. Every derived
id is deterministic, so a replay of something already handled overwrites,
never duplicates; a replayed record that fails again comes back as a dead
letter with the same id.

Works on either bus (embedded or Kafka): it reads the topic from the start
with a consumer group of its own that never commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from core.bus.base import Bus
from core.errors import BadInput
from core.events import Topic

REPLAYABLE = {Topic.SAMPLES.value, Topic.TEXTS.value, Topic.HITS.value}


@dataclass
class Letter:
    """One dead letter as stored (the ``DeadLetter`` event's JSON) and where it sits on the bus."""

    value: dict[str, Any]
    partition: int
    offset: int

    @property
    def id(self) -> str:
        return str(self.value.get("id") or f"p{self.partition}o{self.offset}")

    def why_not_replayable(self) -> str | None:
        topic = self.value.get("original_topic")
        if topic not in REPLAYABLE:
            return f"its original topic {topic!r} is not one the stream jobs read"
        if str(self.value.get("reason", "")).startswith("output refused"):
            return "an output the bus refused (too large): only its size was kept, fix the producer"
        if not isinstance(self.value.get("original"), dict):
            return "the original record was not a JSON object; produce it again, corrected"
        return None


def read(bus: Bus, *, handler: str | None = None, original_topic: str | None = None,
         on_progress: Callable[[int, int], None] | None = None) -> list[Letter]:
    """Every dead letter, oldest first, one per id (a later copy of an id replaces the earlier)."""
    topic = Topic.DEAD_LETTER.value
    bus.ensure_topics([topic])
    ends = bus.end_offsets(topic)
    total = sum(ends.values())
    latest: dict[str, Letter] = {}
    seen = 0
    if total:
        with bus.consumer(f"qinglang-deadletters-read-{uuid.uuid4().hex[:8]}", [topic]) as consumer:
            position: dict[int, int] = {}
            idle = 0
            while any(position.get(p, 0) < end for p, end in ends.items()) and idle < 10:
                records = consumer.poll(max_records=1000, timeout=1.0)
                idle = 0 if records else idle + 1
                for r in records:
                    position[r.partition] = r.offset + 1
                    if r.offset >= ends.get(r.partition, 0):
                        continue  # written after we started: next time
                    seen += 1
                    letter = Letter(value=dict(r.value), partition=r.partition, offset=r.offset)
                    latest.pop(letter.id, None)
                    latest[letter.id] = letter
                if on_progress:
                    on_progress(min(seen, total), total)
    letters = list(latest.values())
    if handler:
        letters = [x for x in letters if x.value.get("handler") == handler]
    if original_topic:
        letters = [x for x in letters if x.value.get("original_topic") == original_topic]
    return letters


@dataclass
class ReplayReport:
    replayed: list[str]
    skipped: dict[str, str]  # id -> why


def replay(bus: Bus, letters: Iterable[Letter]) -> ReplayReport:
    """Write each replayable original back to its topic with its key (durably, like any producer)."""
    by_topic: dict[str, list[tuple[str | None, dict[str, Any]]]] = {}
    report = ReplayReport(replayed=[], skipped={})
    for letter in letters:
        why = letter.why_not_replayable()
        if why:
            report.skipped[letter.id] = why
            continue
        key = letter.value.get("record_key")
        by_topic.setdefault(str(letter.value["original_topic"]), []).append(
            (None if key is None else str(key), letter.value["original"]))
        report.replayed.append(letter.id)
    for topic, items in by_topic.items():
        bus.produce_many(topic, items)
    bus.flush()
    return report


def select(letters: list[Letter], ids: list[str], everything: bool) -> list[Letter]:
    """The letters to replay: the named ids (each must exist), or all of them with ``everything``."""
    if everything:
        return letters
    if not ids:
        raise BadInput("name the dead letters to replay", hint="pass --id ID (repeat it) or --all")
    known = {x.id: x for x in letters}
    missing = [i for i in ids if i not in known]
    if missing:
        raise BadInput(f"no dead letter with id {', '.join(missing)}",
                       hint="`qinglang deadletters list` shows the ids (filters narrow the list)")
    return [known[i] for i in ids]
