"""Alerts API: list shape and filters, one alert's evidence, actions, the live stream."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from core.alerts import AlertStore


def test_list_newest_first_with_filters(client_as, plant):
    now = datetime.now(UTC)
    _, a1 = plant(source_id="src-a", severity="low", term="赌博", entry_id="e1", detected_at=now)
    _, a2 = plant(source_id="src-b", severity="critical", term="诈骗", entry_id="e2", category="fraud",
                  detected_at=now - timedelta(minutes=1))
    c = client_as("operator")
    body = c.get("/api/alerts").json()
    assert body["count"] == 2 and [a["id"] for a in body["data"]] == [a1.id, a2.id]
    assert c.get("/api/alerts", params={"severity": "critical"}).json()["data"][0]["id"] == a2.id
    assert c.get("/api/alerts", params={"source": "src-a"}).json()["count"] == 1
    assert c.get("/api/alerts", params={"category": "fraud"}).json()["count"] == 1
    assert c.get("/api/alerts", params={"list": "negative", "detector": "keyword"}).json()["count"] == 2
    assert c.get("/api/alerts", params={"state": "dismissed"}).json() == {"data": [], "count": 0}
    page = c.get("/api/alerts", params={"limit": 1, "offset": 1}).json()
    assert page["count"] == 2 and [a["id"] for a in page["data"]] == [a2.id]


def test_alert_detail_has_hits_evidence_and_earlier_alerts(client_as, plant):
    _, older = plant(source_id="src-x", term="旧词", entry_id="old")
    hit, alert = plant(source_id="src-x")
    c = client_as("handler")
    d = c.get(f"/api/alerts/{alert.id}").json()
    assert d["alert"]["id"] == alert.id and d["hit_count"] == 1
    assert d["hits"][0]["id"] == hit.id
    assert d["evidence"]["snippet"] == "这里有赌博网站请大家" and d["evidence"]["media_start"] == 12.5
    assert [e["id"] for e in d["earlier"]] == [older.id]


def test_actions_and_history(client_as, plant):
    _, alert = plant()
    c = client_as("operator", name="op-li")
    url = f"/api/alerts/{alert.id}/actions"
    assert c.post(url, json={"action": "acknowledge"}).json()["state"] == "acknowledged"
    r = c.post(url, json={"action": "acknowledge"})
    assert r.status_code == 409 and r.json()["hint"]
    r = c.post(url, json={"action": "dismiss"})
    assert r.status_code == 422 and "reason" in r.json()["message"]
    assert c.post(url, json={"action": "dismiss", "reason": "误报：同音词"}).json()["state"] == "dismissed"
    hist = c.get(f"/api/alerts/{alert.id}/history").json()["data"]
    assert [(h["action"], h["user"]) for h in hist] == [("acknowledge", "op-li"), ("dismiss", "op-li")]
    prec = client_as("list_admin").get("/api/alerts/precision").json()["data"]
    assert prec[0]["dismissed"] == 1 and prec[0]["precision"] == 0.0


def test_bad_action_and_unknown_alert(client_as):
    c = client_as("operator")
    assert c.get("/api/alerts/alr-nope").status_code == 404
    r = c.post("/api/alerts/alr-nope/actions", json={"action": "explode"})
    assert r.status_code == 422 and r.json()["error"] == "BadInput"
    r = c.post("/api/alerts/alr-nope/actions", json={"action": "acknowledge"})
    assert r.status_code == 404 and "alr-nope" in r.json()["message"]


def test_open_case_links_the_alert(client_as, plant):
    pytest.importorskip("complaints.service")
    _, alert = plant()
    c = client_as("operator")
    a = c.post(f"/api/alerts/{alert.id}/actions", json={"action": "open_case", "reason": "请核查"}).json()
    assert a["state"] == "linked" and a["case_id"]


def test_stream_delivers_new_and_changed_alerts(client_as, plant, app_services):
    _, before = plant(term="早先", entry_id="early")
    c = client_as("operator")
    seq = AlertStore(app_services.db).current_seq()

    def later():
        plant(term="新词", entry_id="fresh")
        AlertStore(app_services.db).act(before.id, "acknowledge", user="x")

    timer = threading.Timer(0.3, later)
    timer.start()
    events = []
    with c.stream("GET", "/api/alerts/stream", params={"since": seq, "max_seconds": 2, "poll": 0.1}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in r.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind == "alert":
                events.append(json.loads(line[5:]))
    timer.join()
    assert {e["term"] for e in events} == {"新词", "早先"}
    assert next(e for e in events if e["id"] == before.id)["state"] == "acknowledged"


def test_stream_resumes_from_last_event_id(client_as, plant, app_services):
    plant(term="旧的", entry_id="o1")
    seq = AlertStore(app_services.db).current_seq()
    plant(term="错过的", entry_id="m1")  # arrives while the browser is reconnecting
    c = client_as("operator")
    got = []
    with c.stream("GET", "/api/alerts/stream", params={"since": 0, "max_seconds": 0.3, "poll": 0.1},
                  headers={"Last-Event-ID": str(seq)}) as r:
        for line in r.iter_lines():
            if line.startswith("data:") and "term" in line:
                got.append(json.loads(line[5:])["term"])
    assert got == ["错过的"]
