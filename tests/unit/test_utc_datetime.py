"""store.types.UTCDateTime on SQLite: the stored text of an aware datetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from store.types import UTCDateTime

_DIALECT = sqlite.dialect()
_OFFSETS = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
_MOMENTS = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.just(UTC) | _OFFSETS
)


@given(_MOMENTS)
def test_the_text_is_the_utc_moment_sqlalchemy_would_store(moment: datetime) -> None:
    """`YYYY-MM-DD HH:MM:SS.ffffff` of the moment in UTC, as SQLAlchemy's own DATETIME
    writes it (rows written before and after compare as text), and read back whole."""
    bind = UTCDateTime().bind_processor(_DIALECT)
    result = UTCDateTime().result_processor(_DIALECT, None)
    assert bind is not None and result is not None
    utc = moment.astimezone(UTC)
    expected = (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d} "
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}"
    )
    text = bind(moment)
    assert expected == text == bind(moment)  # the second from the kept last text
    assert utc == result(text)
