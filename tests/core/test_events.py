"""Event schemas: deterministic ids and JSON round trips."""

from __future__ import annotations

from datetime import UTC, datetime

from core.events import Hit, Sample, Topic, alert_id_for, make_id


def test_make_id_is_deterministic_and_order_sensitive() -> None:
    a = make_id("hit", "smp-1", "keyword", 3, 7)
    assert a == make_id("hit", "smp-1", "keyword", 3, 7)
    assert a.startswith("hit-") and len(a) == len("hit-") + 20
    assert a != make_id("hit", "keyword", "smp-1", 3, 7)
    assert a != make_id("hit", "smp-1", "keyword", 3, 8)
    assert make_id("x", "ab", "c") != make_id("x", "a", "bc")  # parts are separated


def test_alert_id_depends_on_window() -> None:
    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    t1 = datetime(2024, 5, 1, 0, 10, tzinfo=UTC)
    assert alert_id_for("src", "rule", t0) == alert_id_for("src", "rule", t0)
    assert alert_id_for("src", "rule", t0) != alert_id_for("src", "rule", t1)


def test_hit_round_trips_through_json_and_keys_by_source() -> None:
    hit = Hit(
        id="hit-1",
        sample_id="smp-1",
        source_id="src-1",
        detector="keyword",
        term="赌博",
        severity="high",
        detected_at=datetime(2024, 5, 1, 8, tzinfo=UTC),
    )
    data = hit.to_json()
    assert data["severity"] == "high" and data["schema_version"] == 1
    assert Hit.model_validate(data) == hit
    assert hit.key() == "src-1"
    assert Hit.topic == Topic.HITS == "qinglang.hits"


def test_sample_ignores_unknown_fields() -> None:
    s = Sample.model_validate(
        {"id": "s", "source_id": "src", "kind": "page", "captured_at": "2024-05-01T00:00:00Z", "future": 1}
    )
    assert s.kind == "page" and not hasattr(s, "future")
