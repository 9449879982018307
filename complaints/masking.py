"""Masking of complainants' personal data for roles that need not see it.

Handlers, supervisors and administrators see complainants as given; everyone
else (analysts, operators, list administrators) sees masked values: the first
character of a name, the first 3 and last 4 digits of a phone number, the
first character of an email's local part, the first 4 and last 4 characters
of an ID number, and no address.
"""

from __future__ import annotations

from typing import Any, Iterable

SEES_PERSONAL_DATA = frozenset({"handler", "supervisor", "admin"})
PERSONAL_FIELDS = ("name", "phone", "email", "id_number", "address")


def may_see_personal_data(roles: Iterable[str]) -> bool:
    return bool(SEES_PERSONAL_DATA & set(roles))


def mask_name(name: str) -> str:
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * max(1, min(len(name) - 1, 3))


def mask_phone(phone: str) -> str:
    digits = [c for c in phone if c.isdigit()]
    if not digits:
        return ""
    if len(digits) <= 7:
        return "*" * len(digits)
    return "".join(digits[:3]) + "*" * (len(digits) - 7) + "".join(digits[-4:])


def mask_email(email: str) -> str:
    local, at, domain = email.strip().partition("@")
    if not at:
        return "***" if email.strip() else ""
    return (local[:1] or "*") + "***@" + domain


def mask_id_number(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_complainant(person: dict[str, Any], roles: Iterable[str] = ()) -> dict[str, Any]:
    """A copy of ``person`` with personal fields masked unless ``roles`` may see them."""
    if may_see_personal_data(roles):
        return dict(person)
    out = dict(person)
    out["name"] = mask_name(str(person.get("name") or ""))
    out["phone"] = mask_phone(str(person.get("phone") or ""))
    out["email"] = mask_email(str(person.get("email") or ""))
    out["id_number"] = mask_id_number(str(person.get("id_number") or ""))
    out["address"] = ""
    out["masked"] = True
    return out
