"""Explanations in the academy's locale (CONTRACT 4.3, issue 15 item 3): rules give a
code and its numbers, ``engine.explanations`` renders English or Arabic from them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from engine.explanations import _WORDS, CODES, STATUS_WORDS, render
from rules.attendance import AttendanceStatus, explain, explanation_code, measure
from rules.evidence import Interval
from rules.reconciliation import VerdictSource, reconcile_student
from rules.settings import RuleSettings

S = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
E = S + timedelta(minutes=60)
A = AttendanceStatus
ARABIC = re.compile("[\u0600-\u06ff]")
LATIN = re.compile("[A-Za-z]")


def iv(start: datetime, end: datetime | None) -> Interval:
    return Interval("PA_a", "10", 10, "RM_1", start, end, True)


def sample(name: str) -> dict[str, str | int | float]:
    """A code of each kind as the rules make it."""
    if name == "teacher_report":
        return {"code": name, "status": "present"}
    if name == "not_scheduled":
        return {"code": name}
    m = measure(
        [iv(S + timedelta(minutes=12), E - timedelta(minutes=5))],
        starts_at=S,
        ends_at=E,
        until=E,
        reconnect_gap_seconds=120,
    )
    if name == "never_joined":
        m = measure([], starts_at=S, ends_at=E, until=E, reconnect_gap_seconds=120)
        return explanation_code(A.ABSENT, m, reference_start=S, starts_at=S, ends_at=E)
    if name == "pending":
        code = explanation_code(A.LATE, m, reference_start=S, starts_at=S, ends_at=E)
        return {**code, "code": "pending", "so_far": "late"}
    return explanation_code(A(name), m, reference_start=S, starts_at=S, ends_at=E)


class TestCatalogue:
    def test_both_locales_name_the_same_words(self) -> None:
        """Every phrase and status word has an English and an Arabic text."""
        assert set(_WORDS["en"]) == set(_WORDS["ar"])
        assert set(STATUS_WORDS["en"]) == set(STATUS_WORDS["ar"])
        assert all(ARABIC.search(text) for text in STATUS_WORDS["ar"].values())

    def test_every_code_reads_in_english_and_arabic(self) -> None:
        """Each code renders to English for `en` and to Arabic (no English words) for `ar`."""
        for name in CODES:
            code = sample(name)
            english, arabic = render(code, "en"), render(code, "ar")
            assert english and LATIN.search(english), name
            assert arabic and ARABIC.search(arabic), name
            assert not LATIN.search(arabic), (name, arabic)

    def test_other_locales_read_english(self) -> None:
        """Only `ar` academies read Arabic."""
        code = sample("late")
        assert render(code, "en") == render(code, "fr") == render(code, None)

    def test_no_code_falls_back_to_the_written_text_in_english_only(self) -> None:
        """A verdict written before codes were kept keeps its (English) text for English
        readers; an Arabic reader gets its status in Arabic, never the English line."""
        written = "present: 60 of 60 min"

        assert (written, "حاضر", "") == (
            render({}, "en", fallback=written, status="present"),
            render({}, "ar", fallback=written, status="present"),
            render({"code": "from_the_future"}, "ar", fallback=written),
        )

    def test_contract_example(self) -> None:
        """CONTRACT 5's late example: the code carries its minutes beside the text."""
        m = measure(
            [iv(S + timedelta(minutes=12), E)],
            starts_at=S,
            ends_at=E,
            until=E,
            reconnect_gap_seconds=120,
        )
        code = explanation_code(A.LATE, m, reference_start=S, starts_at=S, ends_at=E)
        assert {
            "code": "late",
            "late_minutes": 12,
            "attended_minutes": 48,
            "of_minutes": 60,
        }.items() <= code.items()
        assert "late: joined 12 min after start, 48 of 60 min" == render(code, "en")
        assert "متأخر: انضم بعد البداية بـ 12 دقيقة، 48 من 60 دقيقة" == render(code, "ar")


@given(
    join=st.integers(-600, 3599),
    length=st.integers(1, 4000),
    teacher=st.integers(0, 1200),
    status=st.sampled_from([A.PRESENT, A.LATE, A.LEFT_EARLY, A.PARTIAL, A.ABSENT]),
    finished=st.booleans(),
)
def test_english_is_what_the_rules_explain(
    join: int, length: int, teacher: int, status: AttendanceStatus, finished: bool
) -> None:
    """The English rendering of a code is the line ``explain`` writes, for any meeting,
    so codes lose nothing the text said."""
    start = S + timedelta(seconds=join)
    m = measure(
        [iv(start, start + timedelta(seconds=length))],
        starts_at=S,
        ends_at=E,
        until=E,
        reconnect_gap_seconds=120,
    )
    ref = S + timedelta(seconds=teacher)
    code = explanation_code(status, m, reference_start=ref, starts_at=S, ends_at=E)
    assert explain(status, m, reference_start=ref, starts_at=S, ends_at=E) == render(code, "en")
    verdict = reconcile_student(
        10,
        report_status=None,
        meeting=m,
        reference_start=ref,
        starts_at=S,
        ends_at=E,
        finished=finished,
        settings=RuleSettings(),
    )
    assert verdict.source is VerdictSource.MEETING
    assert verdict.explanation == render(verdict.explanation_code, "en")
