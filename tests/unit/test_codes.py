"""Session types, subscription kinds and session codes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.codes import (
    SessionType,
    SubscriptionKind,
    format_session_code,
    is_individual,
    kind_of,
    parse_session_code,
    prefix_of,
)


class TestSessionType:
    @pytest.mark.parametrize(
        ("session_type", "individual", "kind", "prefix"),
        [
            ("quran_individual", True, "quran", "QSE"),
            ("quran_circle", False, "quran", "QSE"),
            ("academic_individual", True, "academic", "ASE"),
            ("academic_course", False, "academic", "ASE"),
            ("interactive_course", False, "interactive", "ICS"),
        ],
    )
    def test_type_facts(self, session_type: str, individual: bool, kind: str, prefix: str) -> None:
        """Each type knows whether it is individual, its kind and its code prefix."""
        st_ = SessionType(session_type)

        assert individual == is_individual(st_)
        assert SubscriptionKind(kind) is kind_of(st_)
        assert prefix == prefix_of(st_)

    def test_plain_strings_work_too(self) -> None:
        """A stored plain string value is accepted like the enum."""
        assert SubscriptionKind.QURAN is kind_of("quran_circle")  # type: ignore[arg-type]


class TestFormatSessionCode:
    def test_pads_to_six_digits(self) -> None:
        """The sequence is zero-padded to six digits."""
        assert "QSE-1-000001" == format_session_code("QSE", 1, 1)

    def test_grows_past_six_digits(self) -> None:
        """Past 999999 the number simply grows."""
        assert "ICS-12-1234567" == format_session_code("ICS", 12, 1_234_567)

    @pytest.mark.parametrize(
        ("prefix", "academy_id", "seq", "message"),
        [
            ("XYZ", 1, 1, "prefix"),
            ("QSE", 0, 1, "academy"),
            ("QSE", 1, 0, "sequence"),
        ],
    )
    def test_rejects_bad_parts(self, prefix: str, academy_id: int, seq: int, message: str) -> None:
        """An unknown prefix, academy below 1 or sequence below 1 is a ValueError."""
        with pytest.raises(ValueError, match=message):
            format_session_code(prefix, academy_id, seq)


class TestParseSessionCode:
    def test_parses_a_code(self) -> None:
        """A well-formed code gives (prefix, academy_id, seq)."""
        assert ("ASE", 3, 42) == parse_session_code("ASE-3-000042")

    @pytest.mark.parametrize(
        "code",
        [
            "",
            "QSE-1-00001",
            "QSE-1-000000",
            "QSE-01-000001",
            "qse-1-000001",
            "QSE-1-0000001",
            "XYZ-1-000001",
            "QSE-1-000001-x",
            "QSE--1-000001",
            "QSE-1-٠٠٠٠٠١",
        ],
    )
    def test_rejects_anything_else(self, code: str) -> None:
        """Anything format_session_code would not produce is None."""
        assert parse_session_code(code) is None

    @settings(max_examples=500)
    @given(
        prefix=st.sampled_from(["QSE", "ASE", "ICS"]),
        academy_id=st.integers(min_value=1, max_value=10**6),
        seq=st.integers(min_value=1, max_value=10**9),
    )
    def test_parse_inverts_format(self, prefix: str, academy_id: int, seq: int) -> None:
        """parse(format(p, a, s)) == (p, a, s) for every valid input."""
        assert (prefix, academy_id, seq) == parse_session_code(
            format_session_code(prefix, academy_id, seq)
        )
