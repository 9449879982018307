"""Create/Update/Public schemas of cases (pydantic; shared by the API and the CLI)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

CHANNELS = ("web", "hotline", "letter", "email", "transfer", "monitoring")
DEFAULT_CATEGORIES = (
    "vulgar",
    "pornography",
    "violence",
    "gambling",
    "false_information",
    "minors",
    "advertising",
    "copyright",
    "historical_nihilism",
    "technical_quality",
    "other",
)

CATEGORY_LABELS = {
    "vulgar": "低俗内容", "pornography": "色情", "violence": "暴力恐怖", "gambling": "赌博",
    "false_information": "虚假信息", "minors": "危害未成年人", "advertising": "违规广告",
    "copyright": "侵权盗版", "historical_nihilism": "历史虚无主义", "technical_quality": "播出质量",
    "other": "其他",
}
CHANNEL_LABELS = {"web": "网上", "hotline": "热线", "letter": "来信", "email": "电子邮件", "transfer": "转来",
                  "monitoring": "监测发现"}


class ComplainantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field("", max_length=200)
    phone: str = Field("", max_length=50)
    email: str = Field("", max_length=200)
    id_number: str = Field("", max_length=50)
    address: str = Field("", max_length=2000)
    anonymous: bool = False


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str = Field(..., description="web | hotline | letter | email | transfer")
    category: str
    target: str = Field(..., min_length=1, max_length=2000, description="what the complaint is about")
    description: str = Field(..., min_length=1, max_length=20000)
    received_at: datetime | None = None
    target_platform: str = Field("", max_length=200)
    target_program: str = Field("", max_length=200)
    target_url: str = Field("", max_length=2000)
    target_account: str = Field("", max_length=200)
    target_source_id: str = Field("", max_length=100)
    complainant: ComplainantIn | None = None
    evidence: dict[str, Any] | None = Field(
        None, description='monitoring evidence to attach: {"alert_id": "...", "hit_ids": ["..."]}')


class CaseAction(BaseModel):
    """One workflow action; which fields are needed depends on the action."""

    model_config = ConfigDict(extra="forbid")
    action: str
    reason: str | None = None
    text: str | None = None
    note: str | None = None
    unit: str | None = None
    due: date | None = None
    outcome: str | None = None
    into: int | None = None
    days: int | None = None
    user: str | None = None
    kind: str | None = None
    ref: str | None = None
    source: str | None = None
    until: datetime | None = None

    def fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if k != "action" and v is not None}


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(..., min_length=1, max_length=64)
    name: str = Field(..., min_length=1, max_length=200)
    kind: str = Field("agency", description="city_bureau | county_bureau | platform | agency")
    contact: str = Field("", max_length=300)


class ComplainantPublic(BaseModel):
    id: int
    name: str
    phone: str
    email: str
    id_number: str
    address: str
    channel: str
    anonymous: bool
    original_case_id: int
    masked: bool = False


class CasePublic(BaseModel):
    """A case as the API returns it (personal data masked for roles that need not see it)."""

    model_config = ConfigDict(extra="allow")
    id: int
    tracking_code: str
    state: str
    channel: str
    category: str
    target: str
    description: str
    received_at: str
    registered_at: str
    assignee: str
    deadlines: dict[str, str]
    complainants: list[ComplainantPublic]


class CaseList(BaseModel):
    data: list[dict[str, Any]]
    count: int
