"""What the attendance page accepts, as models for the OpenAPI document."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.api.types import Id


class PageQuery(BaseModel):
    """`token` once, from a link: it is moved into a cookie and out of the address."""

    token: str | None = None


class OverrideForm(BaseModel):
    """The override form: an empty `attendance_status` hands the verdict back to the
    meeting evidence."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")
    student_id: Id
    attendance_status: Literal["", "present", "late", "left_early", "partial", "absent"]
    reason: str = Field(min_length=1, max_length=2000)
    csrf_token: str = Field(
        default="",
        description="The token the page's form carries (engine/pages/csrf.py); "
        "without it, or with another caller's or session's, the POST is refused with 403.",
    )


class MarkAllForm(BaseModel):
    """ "Mark all present": every roster student's verdict becomes `present`, the rest
    of each report kept, with one reason for all."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore")
    reason: str = Field(min_length=1, max_length=2000)
    csrf_token: str = Field(
        default="",
        description="The token the page's forms carry (engine/pages/csrf.py); "
        "without it, or with another caller's or session's, the POST is refused with 403.",
    )
