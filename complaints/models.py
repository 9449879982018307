"""Complaint tables (SQLAlchemy 2 on ``core.db.Base``).

A case has several complainants (a merge moves the duplicate's complainants
onto the surviving case), evidence attachments, referrals to units with the
unit's reply, feedback records, deadlines and a hash-chained audit log.
Migrations: ``complaints/migrations`` (branch label ``complaints``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base


class Unit(Base):
    """A unit cases are referred to: city/county bureau, licensed platform, agency."""

    __tablename__ = "complaint_units"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    contact: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Case(Base):
    __tablename__ = "complaint_cases"
    __table_args__ = (Index("ix_case_assignee_id", "assignee", "id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tracking_code: Mapped[str] = mapped_column(String(32), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32), index=True)
    target: Mapped[str] = mapped_column(Text)
    target_key: Mapped[str] = mapped_column(String(200), index=True)
    target_platform: Mapped[str] = mapped_column(String(200), default="")
    target_program: Mapped[str] = mapped_column(String(200), default="")
    target_url: Mapped[str] = mapped_column(Text, default="")
    target_account: Mapped[str] = mapped_column(String(200), default="")
    target_source_id: Mapped[str] = mapped_column(String(100), default="")
    description: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    registered_by: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20), index=True)
    assignee: Mapped[str] = mapped_column(String(100), default="", index=True)
    reject_reason: Mapped[str] = mapped_column(String(40), default="")
    outcome: Mapped[str] = mapped_column(String(20), default="")
    outcome_basis: Mapped[str] = mapped_column(Text, default="")
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("complaint_cases.id"), nullable=True)
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    paused_reason: Mapped[str] = mapped_column(Text, default="")
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)

    complainants: Mapped[list[Complainant]] = relationship(
        back_populates="case", order_by="Complainant.id", foreign_keys="Complainant.case_id"
    )
    deadlines: Mapped[list[Deadline]] = relationship(back_populates="case", order_by="Deadline.id")
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id")
    referrals: Mapped[list[Referral]] = relationship(order_by="Referral.id")
    feedback: Mapped[list[Feedback]] = relationship(order_by="Feedback.id")
    monitoring: Mapped[list[MonitoringRequest]] = relationship(order_by="MonitoringRequest.id")


class Complainant(Base):
    __tablename__ = "complaint_complainants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("complaint_cases.id"), index=True)
    original_case_id: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    id_number: Mapped[str] = mapped_column(String(50), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(16))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    case: Mapped[Case] = relationship(back_populates="complainants", foreign_keys=[case_id])


class Attachment(Base):
    """Evidence: a blob (file upload, kept with its hash) or a hit/alert id."""

    __tablename__ = "complaint_attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("complaint_cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # blob | hit | alert
    ref: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64), default="")
    media_type: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)
    filename: Mapped[str] = mapped_column(String(300), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    added_by: Mapped[str] = mapped_column(String(100))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Referral(Base):
    __tablename__ = "complaint_referrals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("complaint_cases.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("complaint_units.id"))
    note: Mapped[str] = mapped_column(Text)
    due: Mapped[date] = mapped_column(Date)
    referred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    referred_by: Mapped[str] = mapped_column(String(100))
    reply_text: Mapped[str] = mapped_column(Text, default="")
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    chase_count: Mapped[int] = mapped_column(Integer, default=0)
    last_chased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    unit: Mapped[Unit] = relationship()


class Feedback(Base):
    __tablename__ = "complaint_feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("complaint_cases.id"), index=True)
    complainant_id: Mapped[int] = mapped_column(ForeignKey("complaint_complainants.id"))
    channel: Mapped[str] = mapped_column(String(16))
    template: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_by: Mapped[str] = mapped_column(String(100))


class Deadline(Base):
    __tablename__ = "complaint_deadlines"
    __table_args__ = (UniqueConstraint("case_id", "name"), Index("ix_deadline_open", "met_at", "due"))
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("complaint_cases.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))  # acceptance | unit_reply | conclusion
    unit: Mapped[str] = mapped_column(String(16))  # working_days | days
    amount: Mapped[int] = mapped_column(Integer)
    start: Mapped[date] = mapped_column(Date)
    due: Mapped[date] = mapped_column(Date)
    met_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    on_time: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    case: Mapped[Case] = relationship(back_populates="deadlines")


class MonitoringRequest(Base):
    __tablename__ = "complaint_monitoring"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("complaint_cases.id"), index=True)
    source_id: Mapped[str] = mapped_column(String(100))
    until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Append-only; each row holds the previous row's hash (per case)."""

    __tablename__ = "complaint_audit"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(Integer, index=True)
    seq: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    action: Mapped[str] = mapped_column(String(32))
    before: Mapped[str] = mapped_column(Text)
    after: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
