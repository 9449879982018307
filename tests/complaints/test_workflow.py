"""Property tests of the state machine (hypothesis): the table is the law."""

from __future__ import annotations

from collections import deque
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaints import workflow
from complaints.service import Actor, CaseService
from core.errors import BadInput, Conflict, NotFound, PermissionDenied
from tests.complaints.conftest import new_case

ROLES = ["operator", "handler", "supervisor", "analyst", "list_admin", "admin"]
PROPS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def valid_fields(action: str, other: int, clock) -> dict:
    return {
        "reject": {"reason": "insufficient_information"},
        "merge": {"into": other},
        "refer": {"unit": "u1", "note": "请核查"},
        "record-reply": {"text": "已处理"},
        "conclude": {"outcome": "partly", "text": "依据监测记录"},
        "reopen": {"reason": "新情况"},
        "extend": {"reason": "复杂", "days": 10},
        "request-info": {"reason": "请补充"},
        "provide-info": {"text": "已补充"},
        "assign": {"user": "zhang"},
        "attach-evidence": {"kind": "hit", "ref": "hit-00000000000000000000"},
        "request-monitoring": {"source": "src-1", "until": (clock.now + timedelta(days=2)).isoformat(),
                               "reason": "定向监测"},
    }.get(action, {})


@given(state=st.sampled_from(workflow.STATES), action=st.sampled_from(workflow.ACTIONS),
       roles=st.sets(st.sampled_from(ROLES), max_size=3))
def test_check_allows_exactly_what_the_table_says(state, action, roles):
    t = workflow.TRANSITIONS[action]
    try:
        workflow.check(action, state, roles, {"reason": "out_of_scope", "outcome": "partly", "kind": "hit",
                                              **{f: "x" for f in t.required if f not in ("reason",)}})
        allowed = True
    except (Conflict, PermissionDenied, BadInput):
        allowed = False
    if allowed:
        assert state in t.sources and set(roles) & t.roles


def test_every_non_terminal_state_can_reach_closed_in_the_table():
    g = workflow.graph()
    for state in workflow.STATES:
        if state == "merged":
            assert g["merged"] == set()
            continue
        seen, todo = {state}, deque([state])
        while todo:
            for nxt in g[todo.popleft()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        assert "closed" in seen, state


def _path_to_closed(state: str) -> list[str]:
    """Shortest action sequence from ``state`` to ``closed`` in the table."""
    prev: dict[str, tuple[str, str]] = {}
    todo, seen = deque([state]), {state}
    while todo:
        s = todo.popleft()
        if s == "closed":
            break
        for action, t in workflow.TRANSITIONS.items():
            if s in t.sources and t.target and t.target not in seen and action != "merge":
                seen.add(t.target)
                prev[t.target] = (s, action)
                todo.append(t.target)
    path, s = [], "closed"
    while s != state:
        s, action = prev[s]
        path.append(action)
    return path[::-1]


@pytest.fixture
def pair(db, blobs, clock, supervisor, handler):
    supervisor.add_unit("u1", "单位一")
    return db, blobs, clock


@PROPS
@given(steps=st.lists(st.tuples(st.sampled_from(workflow.ACTIONS), st.sampled_from(ROLES),
                                st.booleans(), st.booleans()), max_size=12))
def test_random_actions_by_random_roles_obey_the_table(pair, steps):
    db, blobs, clock = pair
    admin = CaseService(db, blobs, actor=Actor("root", frozenset({"admin"})), clock=clock)
    a = new_case(admin)["id"]
    b = new_case(admin, complainant={"name": "李四", "phone": "13900000000"})["id"]
    people = {p["id"] for cid in (a, b) for p in admin.show(cid)["complainants"]}
    for action, role, on_b, good_fields in steps:
        cid, other = (b, a) if on_b else (a, b)
        svc = CaseService(db, blobs, actor=Actor(role, frozenset({role})), clock=clock)
        before = admin.show(cid)
        fields = valid_fields(action, other, clock) if good_fields else {}
        t = workflow.TRANSITIONS[action]
        try:
            after = svc.act(cid, action, **fields)
        except (Conflict, PermissionDenied, BadInput, NotFound):
            again = admin.show(cid)
            assert again["state"] == before["state"] and again["updated_at"] == before["updated_at"]
        else:
            assert before["state"] in t.sources and ({role} | ({"handler", "supervisor"} if role == "admin"
                                                                else set())) & t.roles
            assert after["state"] == (t.target or before["state"])
        assert admin.show(cid)["state"] in workflow.STATES
        # never lose a complainant: every one is on a case that is not merged away
        now = {p["id"] for c in (a, b) for p in admin.show(c)["complainants"]}
        assert now == people
        for c in (a, b):
            shown = admin.show(c)
            assert (shown["state"] == "merged") == (shown["complainants"] == [])
    # every case that is not merged away can still be driven to closed
    for cid in (a, b):
        case = admin.show(cid)
        if case["state"] == "merged":
            continue
        if case["paused"]:
            admin.act(cid, "provide-info", text="已补充")
        for action in _path_to_closed(admin.show(cid)["state"]):
            admin.act(cid, action, **valid_fields(action, 0, clock))
        assert admin.show(cid)["state"] == "closed"
        assert admin.verify_audit(cid).ok
