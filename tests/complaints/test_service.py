from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from complaints.models import AuditEntry
from complaints.service import PayloadTooLarge, UnsupportedType
from core.errors import BadInput, Conflict, NotFound, PermissionDenied
from tests.complaints.conftest import new_case

HOSTILE = "<script>alert('x')</script>'; DROP TABLE complaint_cases; --"


def _through_verifying(handler, **over):
    case = new_case(handler, **over)
    handler.act(case["id"], "accept")
    handler.act(case["id"], "verify")
    return case["id"]


def test_register_gives_tracking_code_and_acceptance_deadline(handler, clock):
    clock.now = datetime(2026, 9, 29, 1, 0, tzinfo=UTC)  # Tue 29 Sep, 09:00 in China
    case = new_case(handler)
    assert case["state"] == "registered"
    assert case["tracking_code"].startswith("QL-")
    assert case["deadlines"] == {"acceptance": "2026-10-14"}


def test_anonymous_web_registration_needs_no_role(svc_for):
    public = svc_for("anonymous", name="public-web")
    case = public.register(channel="web", category="other", target="某网站", description="有问题")
    assert case["complainants"][0]["anonymous"] is True
    with pytest.raises(PermissionDenied):
        public.register(channel="hotline", category="other", target="x", description="y")


def test_bad_input_is_refused_with_hint(handler):
    for over in ({"channel": "fax"}, {"category": "nope"}, {"target": ""}, {"received_at": "yesterday"}):
        with pytest.raises(BadInput) as exc:
            new_case(handler, **over)
        assert exc.value.hint


def test_hostile_text_is_stored_as_given(handler):
    case = new_case(handler, target=HOSTILE, description=HOSTILE, complainant={"name": HOSTILE})
    shown = handler.show(case["id"])
    assert shown["target"] == HOSTILE and shown["description"] == HOSTILE
    assert shown["complainants"][0]["name"] == HOSTILE
    rows, count = handler.list_cases(q="DROP TABLE")
    assert count == 1 and rows[0]["target"] == HOSTILE


def test_full_loop_with_referral_and_feedback(handler, supervisor, clock):
    supervisor.add_unit("nj", "南京市广电局", "city_bureau")
    cid = _through_verifying(handler)
    case = handler.act(cid, "refer", unit="nj", note="请核查并于期限内回复")
    assert case["state"] == "referred" and "unit_reply" in case["deadlines"]
    handler.act(cid, "confirm-receipt")
    handler.act(cid, "chase")
    case = handler.act(cid, "record-reply", text="已责令整改")
    assert case["state"] == "verifying" and case["referrals"][0]["reply_text"] == "已责令整改"
    handler.act(cid, "conclude", outcome="substantiated", text="监测录像证实")
    case = handler.act(cid, "send-feedback")
    assert case["state"] == "feedback_sent" and "反映问题属实" in case["feedback"][0]["text"]
    case = handler.act(cid, "close")
    assert case["state"] == "closed" and case["closed_at"]


def test_illegal_action_changes_nothing(db, handler):
    case = new_case(handler)
    with db.session() as s:
        before = s.execute(select(func.count(AuditEntry.id))).scalar_one()
    with pytest.raises(Conflict) as exc:
        handler.act(case["id"], "close")
    assert "not allowed in state 'registered'" in exc.value.message
    with pytest.raises(BadInput):
        handler.act(case["id"], "reject", reason="because")
    with pytest.raises(PermissionDenied):
        handler.act(case["id"], "extend", reason="x", days=10)
    after = handler.show(case["id"])
    assert after["state"] == "registered" and after["updated_at"] == case["updated_at"]
    with db.session() as s:
        assert s.execute(select(func.count(AuditEntry.id))).scalar_one() == before


def test_failing_side_effect_rolls_back_the_transition(handler):
    cid = _through_verifying(handler)
    with pytest.raises(NotFound):
        handler.act(cid, "refer", unit="no-such-unit", note="x")
    assert handler.show(cid)["state"] == "verifying"


def test_duplicate_is_offered_and_merge_keeps_all_complainants(handler):
    first = new_case(handler)
    second = new_case(handler, target="某平台  某节目", description="节目中出现低俗内容，请尽快核查",
                      complainant={"name": "李四", "email": "lisi@example.com"})
    assert [d["id"] for d in second["duplicates"]] == [first["id"]]
    other = new_case(handler, description="完全无关的另一件事：广告时长超标")
    assert other["duplicates"] == []
    merged = handler.act(second["id"], "merge", into=first["id"])
    assert merged["state"] == "merged" and merged["merged_into"] == first["id"]
    survivor = handler.show(first["id"])
    assert sorted(c["name"] for c in survivor["complainants"]) == ["张三", "李四"]
    handler.act(first["id"], "accept")
    handler.act(first["id"], "verify")
    handler.act(first["id"], "conclude", outcome="partly", text="部分属实")
    fb = handler.act(first["id"], "send-feedback")["feedback"]
    assert len(fb) == 2
    assert any(second["tracking_code"] in f["text"] for f in fb)
    assert handler.track(second["tracking_code"])["state"] == "feedback_sent"
    with pytest.raises(Conflict):
        handler.act(first["id"], "merge", into=first["id"])


def test_reject_then_reopen_by_supervisor_only(handler, supervisor):
    case = new_case(handler)
    handler.act(case["id"], "reject", reason="out_of_scope")
    with pytest.raises(PermissionDenied):
        handler.act(case["id"], "reopen", reason="新证据")
    with pytest.raises(BadInput):
        supervisor.act(case["id"], "reopen")
    assert supervisor.act(case["id"], "reopen", reason="新证据")["state"] == "accepted"


def test_extend_once_up_to_30_days(handler, supervisor):
    cid = _through_verifying(handler)
    due = handler.show(cid)["deadlines"]["conclusion"]
    with pytest.raises(BadInput):
        supervisor.act(cid, "extend", reason="复杂", days=31)
    case = supervisor.act(cid, "extend", reason="案情复杂", days=30)
    assert (datetime.fromisoformat(case["deadlines"]["conclusion"]) - datetime.fromisoformat(due)).days == 30
    with pytest.raises(Conflict):
        supervisor.act(cid, "extend", reason="again", days=5)


def test_clock_pauses_while_waiting_for_complainant(handler, clock):
    clock.now = datetime(2026, 9, 28, 2, 0, tzinfo=UTC)  # Mon 28 Sep
    case = new_case(handler)
    assert case["deadlines"]["acceptance"] == "2026-10-13"
    handler.act(case["id"], "request-info", reason="请补充节目播出时间")
    with pytest.raises(Conflict):
        handler.act(case["id"], "accept")
    clock.now = datetime(2026, 10, 8, 2, 0, tzinfo=UTC)  # Thu 8 Oct
    case = handler.act(case["id"], "provide-info", text="播出时间为 9 月 27 日晚")
    # 3 working days passed while paused (29, 30 Sep, 8 Oct): 13 Oct → 16 Oct
    assert case["deadlines"]["acceptance"] == "2026-10-16" and not case["paused"]


def test_queues_and_escalation(handler, supervisor, clock):
    supervisor_case = new_case(handler)
    late = new_case(handler, target="另一个平台", description="另一件事")
    supervisor.act(late["id"], "assign", user="zhang")
    assert [r["id"] for r in handler.list_cases("mine")[0]] == [late["id"]]
    clock.now += timedelta(days=13)  # Sun 11 Oct; acceptance due Tue 13 Oct
    assert {r["id"] for r in handler.list_cases("due-soon")[0]} == {supervisor_case["id"], late["id"]}
    clock.now += timedelta(days=3)
    rows, count = handler.list_cases("overdue")
    assert count == 2 and all(r["overdue"] for r in rows)
    escalated = handler.escalate_overdue(clock.now)
    assert {e["case_id"] for e in escalated} == {supervisor_case["id"], late["id"]}
    assert handler.escalate_overdue(clock.now) == []  # idempotent
    assert handler.list_cases("escalated")[1] == 2
    assert handler.timeline(late["id"])[-1]["action"] == "escalate"
    with pytest.raises(BadInput):
        handler.list_cases("everything")


def test_evidence_and_targeted_monitoring(handler, blobs, svc_for, clock):
    calls = []
    svc = svc_for("handler", name="wang", on_monitoring_request=lambda *a: calls.append(a))
    cid = _through_verifying(svc)
    svc.act(cid, "attach-evidence", kind="hit", ref="hit-0123456789abcdef0123")
    svc.act(cid, "attach-evidence", kind="alert", ref="alr-0123456789abcdef0123")
    up = svc.attach_file(cid, b"%PDF-1.4 evidence", filename="录屏.pdf", media_type="application/pdf")
    assert blobs.get(up["ref"]) == b"%PDF-1.4 evidence" and len(up["sha256"]) == 64
    until = (clock.now + timedelta(days=3)).isoformat()
    case = svc.act(cid, "request-monitoring", source="src-jstv", until=until, reason="核查投诉")
    assert calls and calls[0][0] == "src-jstv" and case["monitoring_requests"][0]["source_id"] == "src-jstv"
    assert [a["kind"] for a in case["attachments"]] == ["hit", "alert", "blob"]
    with pytest.raises(BadInput):
        svc.act(cid, "request-monitoring", source="s", until="2020-01-01T00:00:00", reason="x")


def test_attachment_limits(svc_for):
    svc = svc_for("handler", max_upload_bytes=10)
    cid = new_case(svc)["id"]
    with pytest.raises(UnsupportedType) as exc:
        svc.attach_file(cid, b"MZ", filename="x.exe", media_type="application/x-msdownload")
    assert exc.value.http_status == 415
    with pytest.raises(PayloadTooLarge) as exc:
        svc.attach_file(cid, b"x" * 11, filename="a.txt", media_type="text/plain")
    assert exc.value.http_status == 413


def test_analyst_sees_masked_personal_data_and_cannot_act(handler, svc_for):
    cid = new_case(handler, complainant={"name": "张三丰", "phone": "13812345678", "email": "zs@example.com",
                                          "id_number": "110101199001011234"})["id"]
    analyst = svc_for("analyst")
    person = analyst.show(cid)["complainants"][0]
    assert person == person | {"name": "张**", "phone": "138****5678", "email": "z***@example.com",
                               "id_number": "1101**********1234", "masked": True}
    assert handler.show(cid)["complainants"][0]["phone"] == "13812345678"
    with pytest.raises(PermissionDenied):
        analyst.act(cid, "accept")
    assert "complainants" not in analyst.timeline(cid)[0]["after"]


def test_statistics_and_csv(handler):
    cid = _through_verifying(handler, target_platform="某视频App")
    handler.act(cid, "conclude", outcome="unsubstantiated", text="未发现")
    new_case(handler, channel="letter", target_platform="=HYPERLINK(\"x\")")
    st = handler.stats()
    assert st["total"] == 2 and st["by_channel"] == {"hotline": 1, "letter": 1}
    assert st["by_platform"]["某视频App"] == 1 and st["on_time"]["acceptance"]["rate"] == 1.0
    text = handler.stats_csv()
    assert text.splitlines()[0] == "section,key,value" and "'=HYPERLINK" in text


def test_unknown_case_and_unit_conflicts(handler, supervisor):
    with pytest.raises(NotFound):
        handler.show(999)
    with pytest.raises(BadInput):
        handler.act("abc", "accept")
    supervisor.add_unit("u1", "单位一")
    with pytest.raises(Conflict):
        supervisor.add_unit("u1", "again")
    with pytest.raises(PermissionDenied):
        handler.add_unit("u2", "x")


def test_case_events_after_commit_only(svc_for):
    events = []
    svc = svc_for("handler", on_change=events.append)
    cid = new_case(svc)["id"]
    svc.act(cid, "accept")
    with pytest.raises(Conflict):
        svc.act(cid, "close")
    assert [(e["action"], e["state_before"], e["state_after"]) for e in events] == [
        ("register", None, "registered"), ("accept", "registered", "accepted")]
    assert events[1]["actor"] == svc.actor.name and events[1]["case_id"] == cid


def test_case_events_reach_the_bus(svc_for, tmp_path):
    from complaints.events import to_bus
    from core.bus import open_bus

    bus = open_bus(f"embedded://{tmp_path / 'bus.db'}")
    bus.ensure_topics(["qinglang.case-events"])
    svc = svc_for("handler", on_change=to_bus(bus))
    cid = new_case(svc)["id"]
    bus.flush()
    with bus.consumer("t", ["qinglang.case-events"]) as consumer:
        records = consumer.poll(10, timeout=2.0)
    assert [r.value["case_id"] for r in records] == [cid]
    bus.close()
