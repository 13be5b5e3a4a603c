"""webhooks.jsontext.loads reads exactly what the standard library reads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webhooks.jsontext import loads

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()  # of any size: orjson stops at 64 bits, json does not
    | st.floats(allow_nan=False)
    | st.text()  # lone surrogates included
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(_VALUES)
def test_any_document_reads_as_the_standard_library_reads_it(value: Any) -> None:
    document = json.dumps(value)
    assert json.loads(document) == loads(document.encode())
    assert json.loads(document) == loads(document)


@given(st.binary(max_size=64))
def test_bytes_are_read_or_refused_as_the_standard_library_does(data: bytes) -> None:
    try:
        expected: Any = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        with pytest.raises((ValueError, UnicodeDecodeError)):
            loads(data)
        return
    if expected == expected:  # NaN is never equal to itself
        assert expected == loads(data)


@pytest.mark.parametrize("number", [-(2**63) - 1, 2**64, 10**30, -(10**30)])
def test_an_integer_past_64_bits_keeps_every_digit(number: int) -> None:
    """orjson reads these as floats; the reader gives back the very integer."""
    document = json.dumps({"n": [number]})
    assert loads(document.encode()) == {"n": [number]} == loads(document)
