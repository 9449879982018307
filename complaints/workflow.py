"""The case state machine, as data.

``TRANSITIONS`` is the whole workflow: for each action the states it may start
from, the state it leads to (``None``: the state does not change), the roles
allowed to make it, the fields it needs (with their allowed values where the
set is closed) and the side effects the service runs. ``check`` decides
whether an action is allowed and raises ``Conflict``/``PermissionDenied``/
``BadInput`` with the reason; it never changes anything.

    registered → accepted | rejected
    accepted → verifying → referred → awaiting_reply → verifying (reply recorded)
    verifying → concluded → feedback_sent → closed
    rejected → feedback_sent | closed;   closed/rejected/concluded/feedback_sent → reopen → accepted
    registered/accepted/verifying → merge → merged (complainants move to the surviving case)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from core.errors import BadInput, Conflict, PermissionDenied

STATES = (
    "registered",
    "accepted",
    "rejected",
    "verifying",
    "referred",
    "awaiting_reply",
    "concluded",
    "feedback_sent",
    "closed",
    "merged",
)
OPEN_STATES = frozenset({"registered", "accepted", "verifying", "referred", "awaiting_reply"})
TERMINAL_STATES = frozenset({"closed", "merged"})

REJECT_REASONS = ("out_of_scope", "insufficient_information", "duplicate")
OUTCOMES = ("substantiated", "partly", "unsubstantiated")
EVIDENCE_KINDS = ("hit", "alert", "blob")

HANDLING = frozenset({"handler", "supervisor", "admin"})
SUPERVISING = frozenset({"supervisor", "admin"})
WORKING = frozenset({"accepted", "verifying", "referred", "awaiting_reply"})


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str | None
    roles: frozenset[str]
    required: tuple[str, ...] = ()
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    effects: tuple[str, ...] = ()
    guards: tuple[str, ...] = ()
    label: str = ""


def _t(action: str, sources: Iterable[str], target: str | None, roles: frozenset[str], **kw: Any) -> Transition:
    return Transition(action, frozenset(sources), target, roles, **kw)


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        _t("accept", {"registered"}, "accepted", HANDLING, effects=("meet:acceptance", "start:conclusion"),
           guards=("not_paused",), label="受理 accept"),
        _t("reject", {"registered"}, "rejected", HANDLING, required=("reason",),
           choices={"reason": REJECT_REASONS}, effects=("rejection", "meet:acceptance"), label="不予受理 reject"),
        _t("merge", {"registered", "accepted", "verifying"}, "merged", HANDLING, required=("into",),
           effects=("merge", "meet:all"), label="合并 merge"),
        _t("verify", {"accepted"}, "verifying", HANDLING, guards=("not_paused",), label="核查 verify"),
        _t("refer", {"verifying"}, "referred", HANDLING, required=("unit", "note"),
           effects=("referral", "start:unit_reply"), guards=("not_paused",), label="转办 refer"),
        _t("confirm-receipt", {"referred"}, "awaiting_reply", HANDLING, label="确认签收 unit confirmed receipt"),
        _t("chase", {"referred", "awaiting_reply"}, None, HANDLING, effects=("chase",), label="催办 chase"),
        _t("record-reply", {"referred", "awaiting_reply"}, "verifying", HANDLING, required=("text",),
           effects=("reply", "meet:unit_reply"), label="登记回复 record reply"),
        _t("conclude", {"verifying"}, "concluded", HANDLING, required=("outcome", "text"),
           choices={"outcome": OUTCOMES}, effects=("conclusion", "meet:conclusion"),
           guards=("not_paused", "no_open_referral"), label="办结 conclude"),
        _t("send-feedback", {"concluded", "rejected"}, "feedback_sent", HANDLING, effects=("feedback",),
           label="反馈 send feedback"),
        _t("close", {"feedback_sent", "rejected"}, "closed", HANDLING, effects=("closed",), label="结案 close"),
        _t("reopen", {"closed", "rejected", "concluded", "feedback_sent"}, "accepted", SUPERVISING,
           required=("reason",), effects=("reopen", "start:conclusion"), guards=("not_merged",),
           label="重新办理 reopen"),
        _t("extend", WORKING, None, SUPERVISING, required=("reason", "days"), effects=("extend",),
           guards=("not_extended",), label="延期 extend"),
        _t("request-info", WORKING | {"registered"}, None, HANDLING, required=("reason",),
           effects=("pause",), guards=("not_paused",), label="补充材料 request info"),
        _t("provide-info", WORKING | {"registered"}, None, HANDLING, required=("text",),
           effects=("resume",), guards=("paused",), label="材料已补充 info provided"),
        _t("assign", OPEN_STATES, None, SUPERVISING, required=("user",), effects=("assign",),
           label="分派 assign"),
        _t("attach-evidence", OPEN_STATES | {"concluded"}, None, HANDLING, required=("kind", "ref"),
           choices={"kind": EVIDENCE_KINDS}, effects=("evidence",), label="附证据 attach evidence"),
        _t("request-monitoring", WORKING, None, HANDLING, required=("source", "until", "reason"),
           effects=("monitoring",), label="定向监测 request monitoring"),
    )
}

ACTIONS = tuple(TRANSITIONS)

_GUARD_TEXT = {
    "not_paused": "the clock is paused waiting for the complainant; record provide-info first",
    "paused": "the case is not waiting for information from the complainant",
    "not_extended": "the conclusion deadline was already extended once (the rules allow one extension)",
    "not_merged": "the case was merged into another case; reopen that case instead",
    "no_open_referral": "a referral is still waiting for the unit's reply; record-reply first",
}


def transition(action: str) -> Transition:
    t = TRANSITIONS.get(action)
    if t is None:
        raise BadInput(f"unknown action {action!r}", hint=f"use one of: {', '.join(ACTIONS)}")
    return t


def allowed_actions(state: str, roles: Iterable[str]) -> list[str]:
    """Actions the table allows from ``state`` for someone holding ``roles`` (guards aside)."""
    held = set(roles)
    return [a for a, t in TRANSITIONS.items() if state in t.sources and (held & t.roles)]


def _failing_guards(facts: Mapping[str, bool]) -> dict[str, bool]:
    return {
        "not_paused": facts.get("paused", False),
        "paused": not facts.get("paused", False),
        "not_extended": facts.get("extended", False),
        "not_merged": facts.get("merged", False),
        "no_open_referral": facts.get("open_referral", False),
    }


def available(state: str, roles: Iterable[str], facts: Mapping[str, bool]) -> list[str]:
    """Actions allowed now: the table's, minus those whose guards fail."""
    failing = _failing_guards(facts)
    return [a for a in allowed_actions(state, roles)
            if not any(failing[g] for g in TRANSITIONS[a].guards)]


def check(
    action: str,
    state: str,
    roles: Iterable[str],
    fields: Mapping[str, Any],
    facts: Mapping[str, bool] | None = None,
) -> Transition:
    """Validate one action; raise with the reason when it is not allowed.

    ``facts`` answers the guards: ``paused``, ``extended``, ``merged``, ``open_referral``.
    """
    t = transition(action)
    held = set(roles)
    if not held & t.roles:
        raise PermissionDenied(
            f"action {action!r} needs one of the roles {', '.join(sorted(t.roles))}; "
            f"you hold {', '.join(sorted(held)) or 'none'}",
            hint="ask a supervisor" if t.roles == SUPERVISING else "sign in as a complaint handler",
        )
    if state not in t.sources:
        raise Conflict(
            f"action {action!r} is not allowed in state {state!r} "
            f"(allowed from: {', '.join(sorted(t.sources))})",
            hint=f"actions possible now: {', '.join(allowed_actions(state, held)) or 'none'}",
        )
    for name in t.required:
        value = fields.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise BadInput(f"action {action!r} needs {name!r}", hint=f"give --{name} (field {name!r})")
    for name, values in t.choices.items():
        if fields.get(name) not in values:
            raise BadInput(
                f"{name} {fields.get(name)!r} is not one of {', '.join(values)}",
                hint=f"give {name} as one of: {', '.join(values)}",
            )
    facts = facts or {}
    failing = _failing_guards(facts)
    for guard in t.guards:
        if failing[guard]:
            raise Conflict(f"action {action!r} is not allowed now: {_GUARD_TEXT[guard]}",
                           hint=f"actions possible now: {', '.join(available(state, held, facts))}")
    return t


def graph() -> dict[str, set[str]]:
    """State → states reachable in one action (for documentation and tests)."""
    out: dict[str, set[str]] = {s: set() for s in STATES}
    for t in TRANSITIONS.values():
        for s in t.sources:
            out[s].add(t.target or s)
    return out
