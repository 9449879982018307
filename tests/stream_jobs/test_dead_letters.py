"""Dead letters read back and replayed (stream_jobs/dead_letters.py) on the embedded bus."""

from __future__ import annotations

from typing import Any

import pytest

from core.errors import BadInput
from core.events import Sample, Topic, utcnow
from core.index.base import HitQuery
from stream_jobs.dead_letters import read, replay, select
from stream_jobs.handlers import dead_letter
from stream_jobs.runner import EmbeddedRunner
from tests.stream_jobs.conftest import topic_values


def _page(i: int, text: str) -> Sample:
    return Sample(id=f"smp-dl{i}", source_id="src-dl", kind="page", captured_at=utcnow(), text=text)


def _run(services: Any, broken: bool) -> None:
    runner = EmbeddedRunner(services)
    if broken:  # a bug in the text stage: every text it sees is rejected
        def boom(text: str, origin: str) -> list[Any]:
            raise RuntimeError("matcher bug")
        runner.ctx.match_text = boom  # type: ignore[method-assign]
    try:
        runner.run_until_idle(timeout=60)
    finally:
        runner.close()


def test_rejected_records_replay_after_the_fix(services) -> None:
    sample = _page(1, "這個網站提供網絡賭博服務")
    services.bus.produce(Topic.SAMPLES.value, sample.key(), sample.to_json())
    _run(services, broken=True)
    services.index.refresh()
    assert services.index.search(HitQuery()).total == 0

    letters = read(services.bus)
    assert [x.value["handler"] for x in letters] == ["texts"]
    assert "matcher bug" in letters[0].value["reason"] and letters[0].why_not_replayable() is None

    report = replay(services.bus, select(letters, [letters[0].id], everything=False))
    assert report.replayed == [letters[0].id] and not report.skipped
    _run(services, broken=False)  # the bug is fixed
    services.index.refresh()
    hits = services.index.search(HitQuery(size=100)).hits
    assert hits and {h["sample_id"] for h in hits} == {"smp-dl1"}

    # replaying again changes nothing downstream: the same ids are written again
    before = sorted(h["id"] for h in hits)
    replay(services.bus, read(services.bus))
    _run(services, broken=False)
    services.index.refresh()
    assert sorted(h["id"] for h in services.index.search(HitQuery(size=100)).hits) == before


def test_one_letter_per_id_filters_and_what_cannot_be_replayed(services) -> None:
    good = _page(2, "正常内容").to_json()
    letters_in = [
        dead_letter(Topic.SAMPLES.value, "src-dl", good, "samples", "first try"),
        dead_letter(Topic.SAMPLES.value, "src-dl", good, "samples", "first try"),  # same id: listed once
        dead_letter(Topic.TEXTS.value, "src-dl", {"id": "txt-x", "bytes": 9_000_000}, "write",
                    "output refused: record too large"),
        dead_letter(Topic.TEXTS.value, None, "not an object", "texts", "record is not a JSON object"),
    ]
    for topic, key, value in letters_in:
        services.bus.produce(topic, key, value)

    letters = read(services.bus)
    assert len(letters) == 3
    assert [x.value["handler"] for x in read(services.bus, handler="samples")] == ["samples"]
    assert len(read(services.bus, original_topic=Topic.TEXTS.value)) == 2

    report = replay(services.bus, select(letters, [], everything=True))
    assert len(report.replayed) == 1 and len(report.skipped) == 2
    assert any("too large" in why for why in report.skipped.values())
    assert [v["id"] for v in topic_values(services, Topic.SAMPLES.value)] == ["smp-dl2"]

    with pytest.raises(BadInput, match="no dead letter"):
        select(letters, ["dlq-missing"], everything=False)
    with pytest.raises(BadInput, match="--all"):
        select(letters, [], everything=False)
