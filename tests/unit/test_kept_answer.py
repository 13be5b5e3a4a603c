"""A finished session's answer written straight from its kept verdicts is, byte for
byte, the answer the validated model writes; whatever the model would coerce or
refuse is left to the model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.api.http import respond
from engine.api.kept_answer import kept_answer_json
from engine.api.shapes import kept_attendance_shape
from engine.operations.kept import Kept
from store.repositories.verdicts import Served, SessionFacts, WrittenVerdict

# Both forms `isoformat()` writes for UTC, an offset the model keeps as it is, and a
# space for the T (which the model reads, and writes with its T).
moments = st.builds(
    lambda at, micro, offset, sep: (
        (at + timedelta(microseconds=micro)).astimezone(offset).isoformat(sep)
    ),
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from([0, 0, 1, 123000, 999999]),
    st.sampled_from([UTC, UTC, timezone(timedelta(hours=3))]),
    st.sampled_from(["T", "T", " "]),
)
numbers = st.one_of(st.integers(-(2**40), 2**40), st.floats(allow_nan=False, allow_infinity=False))
codes = st.dictionaries(
    st.text(max_size=8),
    st.one_of(st.text(max_size=12), numbers),
    max_size=4,
).map(lambda d: {"code": "late", **d} if d else d)
# The codes the explanations know render text; an unknown one renders its fallback.
known_codes = st.one_of(
    codes,
    st.builds(
        lambda late, attended: {
            "code": "late",
            "late_minutes": late,
            "attended_minutes": attended,
            "of_minutes": 60,
        },
        st.integers(0, 60),
        st.integers(0, 60),
    ),
    st.just({"code": "absent_no_show"}),
)
percentages = st.one_of(st.floats(0, 100), st.integers(0, 100))


@st.composite
def meetings(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "attended_seconds": draw(st.integers(0, 10_000)),
        "attendance_percentage": draw(percentages),
        "first_join_at": draw(st.none() | moments),
        "last_leave_at": draw(st.none() | moments),
        "join_count": draw(st.integers(0, 5)),
        "intervals": draw(st.lists(st.tuples(moments, moments).map(list), max_size=3)),
    }


@st.composite
def students(draw: st.DrawFn, user_id: int) -> Served:
    snapshot = {
        **draw(meetings()),
        "copresent_seconds": draw(st.integers(0, 10_000)),
        "explanation_code": draw(known_codes),
        "camera_seconds": draw(st.integers(0, 10_000)),
        "microphone_seconds": draw(st.integers(0, 10_000)),
        "screen_share_seconds": draw(st.integers(0, 10_000)),
        "engagement_score": draw(st.none() | st.integers(0, 100)),
        "engagement_explanation_code": draw(
            codes | st.just({"code": "tracks", "camera_seconds": 60})
        ),
        "manually_overridden": draw(st.booleans()),
        "overridden_by": draw(st.none() | st.integers(1, 10**9)),
    }
    verdict = WrittenVerdict(
        user_id,
        "student",
        draw(st.sampled_from(["present", "late", "left_early", "partial", "absent", "pending"])),
        draw(st.sampled_from(["teacher_report", "meeting", "none", None])),
        draw(st.none() | st.text(max_size=20)),
        snapshot,
    )
    charge = draw(
        st.none()
        | st.tuples(
            st.sampled_from(["charged", "waived", "unbilled", "none"]),
            st.none() | st.text(max_size=10),
            st.none() | st.integers(1, 10**9),
        )
    )
    return Served(verdict, charge)


@st.composite
def kept_answers(draw: st.DrawFn) -> Kept:
    size = draw(st.integers(0, 4))
    facts = SessionFacts(
        draw(st.integers(1, 10**9)),
        1,
        5,
        draw(st.sampled_from(["completed", "absent", "ongoing"])),
        draw(st.none() | st.booleans()),
    )
    teacher = WrittenVerdict(
        5,
        "teacher",
        draw(st.sampled_from(["attended", "partial", "absent", "pending"])),
        None,
        None,
        draw(meetings()),
    )
    served = tuple(draw(students(100 + n)) for n in range(size))
    return Kept(facts, teacher, served)


def validated(kept: Kept, only: int | None, locale: str | None) -> bytes:
    return respond(kept_attendance_shape(kept, only_student=only, locale=locale)).body  # type: ignore[return-value]


class TestKeptAnswer:
    @given(
        kept_answers(), st.sampled_from([None, 100, 101, 999]), st.sampled_from(["en", "ar", None])
    )
    @settings(max_examples=300)
    def test_the_bytes_are_the_validated_models(
        self, kept: Kept, only: int | None, locale: str | None
    ) -> None:
        """Every well-typed kept answer is written without the model, the same bytes."""
        assert kept_answer_json(kept, only_student=only, locale=locale) == validated(
            kept, only, locale
        )

    @given(
        kept_answers().filter(lambda k: bool(k.students)),
        st.sampled_from(
            [
                ("attendance_percentage", "50"),
                ("join_count", 1.0),
                ("join_count", True),
                ("explanation_code", {"code": "late", "late_minutes": True}),
                ("explanation_code", {"code": "late", "nested": {"a": 1}}),
            ]
        ),
    )
    def test_what_the_model_would_coerce_is_left_to_it(
        self, kept: Kept, change: tuple[str, Any]
    ) -> None:
        """A kept value of another type than the model declares is never guessed at:
        no bytes, so the caller asks the model (which coerces, or refuses, as ever)."""
        name, value = change
        first = kept.students[0]
        odd = WrittenVerdict(
            *(getattr(first.verdict, f) for f in ("user_id", "role", "status", "source")),
            first.verdict.explanation,
            {**(first.verdict.snapshot or {}), name: value},
        )
        broken = Kept(kept.session, kept.teacher, (Served(odd, first.charge), *kept.students[1:]))
        assert kept_answer_json(broken) is None
