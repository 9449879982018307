from __future__ import annotations

import pytest

from core.events import Sample, Topic, utcnow
from stream_jobs.runner import GROUP, EmbeddedRunner, Stage
from tests.stream_jobs.conftest import topic_values


def _comment(i: int, text: str) -> Sample:
    return Sample(id=f"smp-{i}", source_id="src-a", kind="comment", captured_at=utcnow(), text=text)


def test_bad_record_goes_to_dead_letter_and_stream_goes_on(services):
    services.bus.produce(Topic.SAMPLES.value, "src-a", {"id": 7, "kind": "nonsense"})
    good = _comment(1, "正常评论")
    services.bus.produce(Topic.SAMPLES.value, good.key(), good.to_json())
    runner = EmbeddedRunner(services)
    try:
        runner.run_until_idle(timeout=60)
    finally:
        runner.close()
    dead = topic_values(services, Topic.DEAD_LETTER.value)
    assert len(dead) == 1
    assert dead[0]["original"] == {"id": 7, "kind": "nonsense"}
    assert "Sample" in dead[0]["reason"] and dead[0]["handler"] == "samples"
    texts = topic_values(services, Topic.TEXTS.value)
    assert [t["sample_id"] for t in texts] == ["smp-1"]


@pytest.mark.parametrize("crash_at", ["commit", "state"])
def test_crash_before_commit_replays_without_duplicates(services, crash_at):
    for i in range(5):
        s = _comment(i, f"第{i}条评论")
        services.bus.produce(Topic.SAMPLES.value, s.key(), s.to_json())
    runner = EmbeddedRunner(services)
    stage = Stage("samples", Topic.SAMPLES.value)
    consumer = services.bus.consumer(f"{GROUP}.samples", [stage.topic])

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash before commit")

    if crash_at == "commit":
        consumer.commit = crash  # type: ignore[method-assign]
    else:
        runner.state.save = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        runner.step(stage, consumer)
    consumer.close()
    runner.close()
    # outputs were produced but the offsets were not committed: a new runner replays
    runner2 = EmbeddedRunner(services)
    try:
        runner2.run_until_idle(timeout=60)
        assert runner2.lag() == 0
    finally:
        runner2.close()
    texts = topic_values(services, Topic.TEXTS.value)
    if crash_at == "state":
        assert len(texts) == 10  # produced again on replay (at-least-once) ...
    else:
        assert len(texts) == 5  # saved state records the offsets it includes: replay is skipped
    assert len({t["id"] for t in texts}) == 5  # ... always with the same deterministic ids


def test_slow_records_shrink_the_batch_and_fast_ones_grow_it_back():
    stage = Stage("samples", Topic.SAMPLES.value)
    assert stage.limit() == stage.batch
    stage.observe(10, 5.0)  # half a second per record
    assert stage.limit() < stage.batch
    for _ in range(20):
        stage.observe(100, 0.01)
    assert stage.limit() == stage.batch


def test_a_large_backlog_is_handled_in_batches_with_every_text_once(services):
    for i in range(450):
        s = _comment(i, f"第{i}条评论")
        services.bus.produce(Topic.SAMPLES.value, s.key(), s.to_json())
    runner = EmbeddedRunner(services)
    try:
        runner.run_until_idle(timeout=120)
        assert runner.lag() == 0
    finally:
        runner.close()
    texts = topic_values(services, Topic.TEXTS.value)
    assert sorted(t["sample_id"] for t in texts) == sorted(f"smp-{i}" for i in range(450))


def test_an_output_the_bus_refuses_goes_to_dead_letter_and_the_stage_goes_on(services):
    from core.bus import open_bus

    huge = _comment(1, "超长评论" * 130_000)  # over the 1 MiB record limit of the runner's bus
    small = _comment(2, "正常评论")
    roomy = open_bus(services.settings.bus_url, max_record_bytes=16 * 1024 * 1024)
    for s in (huge, small):
        roomy.produce(Topic.SAMPLES.value, s.key(), s.to_json())
    roomy.close()
    runner = EmbeddedRunner(services)
    try:
        runner.run_until_idle(timeout=60)
        assert runner.lag() == 0
    finally:
        runner.close()
    texts = topic_values(services, Topic.TEXTS.value)
    assert [t["sample_id"] for t in texts] == ["smp-2"]
    dead = topic_values(services, Topic.DEAD_LETTER.value)
    assert len(dead) == 1 and "output refused" in dead[0]["reason"]
