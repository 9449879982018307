from __future__ import annotations

from datetime import timedelta

import pytest

from core.alerts import AlertStore
from core.db import Database
from core.errors import BadInput, Conflict
from core.events import Hit, utcnow
from qinglang.wiring import migrate_all


@pytest.fixture
def store(tmp_path):
    url = f"sqlite:///{tmp_path / 'q.db'}"
    migrate_all(url)
    db = Database(url)
    yield AlertStore(db, window_seconds=600)
    db.dispose()


def _hit(i: int, at, source: str = "src", entry: str = "e1", severity: str = "medium") -> Hit:
    return Hit(id=f"hit-{i}", sample_id=f"s{i}", source_id=source, detector="keyword", list_id="1",
               entry_id=entry, term="赌博", severity=severity, detected_at=at)


def test_hits_of_one_rule_within_the_window_fold_into_one_alert(store):
    t0 = utcnow()
    store.fold_many([_hit(1, t0), _hit(2, t0 + timedelta(minutes=5)), _hit(3, t0 + timedelta(minutes=9), severity="high")])
    alerts, total = store.list()
    assert total == 1 and alerts[0].count == 3 and alerts[0].severity == "high"
    assert sorted(store.hit_ids(alerts[0].id)) == ["hit-1", "hit-2", "hit-3"]


def test_a_gap_longer_than_the_window_opens_a_new_alert_and_rules_stay_apart(store):
    t0 = utcnow()
    store.fold_many([_hit(1, t0), _hit(2, t0 + timedelta(minutes=30)), _hit(3, t0, entry="e2"),
                     _hit(4, t0, source="other")])
    _, total = store.list()
    assert total == 4


def test_replayed_hits_change_nothing(store):
    t0 = utcnow()
    batch = [_hit(i, t0 + timedelta(seconds=i)) for i in range(5)]
    assert len(store.fold_many(batch)) == 1
    assert store.fold_many(batch) == []
    assert store.fold(batch[0]) is None
    alerts, _ = store.list()
    assert alerts[0].count == 5


def test_actions_follow_the_table_and_are_recorded(store):
    alert = store.fold(_hit(1, utcnow()))
    assert alert is not None
    with pytest.raises(BadInput):
        store.act(alert.id, "dismiss", user="op")  # a reason is required
    assert store.act(alert.id, "acknowledge", user="op").state == "acknowledged"
    with pytest.raises(Conflict):
        store.act(alert.id, "acknowledge", user="op")
    assert store.act(alert.id, "dismiss", user="op", reason="误报").state == "dismissed"
    assert [h["action"] for h in store.history(alert.id)] == ["acknowledge", "dismiss"]
    stats = store.dismissal_stats()
    assert stats[0]["dismissed"] == 1 and stats[0]["precision"] == 0.0


def test_changes_since_reports_new_and_updated_alerts_in_order(store):
    seq0 = store.current_seq()
    a = store.fold(_hit(1, utcnow()))
    changed, seq1 = store.changes_since(seq0)
    assert [x.id for x in changed] == [a.id] and seq1 > seq0
    store.act(a.id, "escalate", user="op")
    changed, seq2 = store.changes_since(seq1)
    assert [x.state for x in changed] == ["escalated"] and seq2 > seq1
