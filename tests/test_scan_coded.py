"""Text columns built as dictionary codes (logscope.scan.coded, the compiled encode of
logscope/scan/_cscan.c): the compiled path and the Arrow fallback give the same columns, and the
compacted form is the one `dictionary_encode` of the text gives."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logscope.scan import coded as coded_module
from logscope.scan import columns, compact
from logscope.scan.coded import Coded, normalized

_cscan = pytest.importorskip("logscope.scan._cscan") if columns._encode is not None else None
compiled_only = pytest.mark.skipif(columns._encode is None, reason="the compiled scanner is not built")

# values with ASCII and Unicode space at their edges, repeats, and empty ones
_VALUES = st.sampled_from(
    [
        "a",
        "a ",
        " a",
        "",
        " ",
        "\u00a0a",
        "a\u2003",
        "\u3000",
        "caf\u00e9",
        "na\u00efve x",
        "x\ty",
        "GET",
        "10.0.0.1",
    ]
)


@st.composite
def _spans(draw):
    """A block of text and (start, length) spans over it: whole values, pieces of values cut at
    character boundaries, overlapping and empty spans, and nulls."""
    values = draw(st.lists(_VALUES, min_size=1, max_size=40))
    block, bounds = b"", []
    for value in values:
        bounds.append(len(block))
        block += value.encode() + b"|"
    text_ends = [len(block)]
    spans = []
    for _ in range(draw(st.integers(0, 60))):
        kind = draw(st.sampled_from(["value", "cut", "null", "empty", "across"]))
        i = draw(st.integers(0, len(values) - 1))
        start, size = bounds[i], len(values[i].encode())
        if kind == "value":
            spans.append((start, size))
        elif kind == "cut":
            cut = len(values[i][: draw(st.integers(0, len(values[i])))].encode())
            spans.append((start, cut))
        elif kind == "null":
            spans.append((0, -1))
        elif kind == "empty":
            spans.append((start, 0))
        else:  # over several values, `|` included
            j = draw(st.integers(i, len(values) - 1))
            spans.append((start, bounds[j] + len(values[j].encode()) - start))
    del text_ends
    starts = np.array([s for s, _ in spans], np.int64)
    lengths = np.array([n for _, n in spans], np.int64)
    return block, starts, lengths


def _fallback(call, *args, **kwargs):
    """`call` with the compiled functions turned off, as when the extension is not built."""
    saved = (
        columns._encode,
        columns._encode_at,
        columns._encode_fields,
        columns._gather,
        coded_module._renumber,
    )
    columns._encode = columns._encode_at = columns._encode_fields = columns._gather = None
    coded_module._renumber = None
    try:
        return call(*args, **kwargs)
    finally:
        (columns._encode, columns._encode_at, columns._encode_fields, columns._gather) = saved[:4]
        coded_module._renumber = saved[4]


def _compacted(column: Coded) -> pa.Array:
    return compact.compact_codes(column.normalized())


@settings(max_examples=300, deadline=None)
@given(_spans(), st.booleans())
def test_compiled_span_codes_equal_the_fallbacks_and_the_strings_of_the_spans(spans, strip):
    block, starts, lengths = spans
    strings = _fallback(columns.span_strings, block, starts, lengths, strip=strip)
    fallback = _fallback(columns.span_codes, block, starts, lengths, strip=strip)
    assert fallback.strings().to_pylist() == strings.to_pylist()
    expected = compact.compact_codes(strings.dictionary_encode()) if len(strings) else None
    if expected is not None:
        assert _compacted(fallback).equals(expected)
    if columns._encode is None:
        return
    ours = columns.span_codes(block, starts, lengths, strip=strip)
    assert ours.strings().to_pylist() == strings.to_pylist()
    if expected is not None:
        assert _compacted(ours).equals(expected)


@compiled_only
@settings(max_examples=100, deadline=None)
@given(_spans(), st.integers(1, 5), st.data())
def test_key_values_encoded_together_equal_each_key_encoded_alone(spans, width, data):
    block, starts, lengths = spans
    pairs = (
        np.ascontiguousarray(np.stack([starts, lengths], axis=1))
        if len(starts)
        else np.zeros((0, 2), np.int64)
    )
    rows = data.draw(st.integers(0, 30))
    index = np.array(
        data.draw(st.lists(st.integers(-1, len(starts) - 1), min_size=rows * width, max_size=rows * width)),
        np.int64,
    ).reshape(rows, width)
    together = columns.trimmed_values(block, pairs, index)
    for column, coded in zip(index.T, together, strict=True):
        alone = _fallback(columns.trimmed_values, block, pairs, column[:, None])[0]
        assert coded.strings().to_pylist() == alone.strings().to_pylist()
        assert coded.dictionary.equals(alone.dictionary)  # in order of first appearance


@compiled_only
def test_event_fields_encoded_together_equal_each_field_encoded_alone():
    rng = np.random.default_rng(14)
    block = bytes(rng.integers(32, 127, 3000, dtype=np.uint8))
    rows = np.zeros((500, 36), np.int64)
    for column in (7, 9, 14):
        rows[:, column] = rng.integers(0, 2900, 500)
        rows[:, column + 1] = np.where(rng.random(500) < 0.2, -1, rng.integers(0, 4, 500))
    together = columns._field_codes(block, rows, (7, 9, 14))
    alone = _fallback(columns._field_codes, block, rows, (7, 9, 14))
    for ours, theirs in zip(together, alone, strict=True):
        assert ours.strings().equals(theirs.strings())
        assert ours.dictionary.equals(theirs.dictionary)


@compiled_only
def test_encode_refuses_spans_indices_and_codes_outside_what_it_was_given():
    block = b"abc def"
    one = np.array([1], np.int64)
    for start, length in ((len(block), 1), (-1, 1), (0, 2**40), (2**62, 1)):
        with pytest.raises(ValueError):
            _cscan.encode(block, np.array([start], np.int64), np.array([length], np.int64))
    with pytest.raises(ValueError):  # starts and lengths of different sizes
        _cscan.encode(block, np.array([0, 1], np.int64), one)
    pairs = np.array([[0, 3], [4, 3]], np.int64)
    for index in ([2], [-2 + 2**63 - 1]):
        with pytest.raises(ValueError):
            _cscan.encode_at(block, pairs, np.array(index, np.int64), 1)
    with pytest.raises(ValueError):  # an index row narrower than the width
        _cscan.encode_at(block, pairs, np.array([0, 1, 0], np.int64), 2)
    rows = np.zeros((2, 4), np.int64)
    for column in ((3,), (-1,), (0,) * 65):
        with pytest.raises(ValueError):
            _cscan.encode_fields(block, rows, 4, column)
    for codes, count in (([0, 3], 3), ([-2], 3), ([0], -1)):
        with pytest.raises(ValueError):
            _cscan.renumber(np.array(codes, np.int32), count)
    codes, offsets, data, edges = _cscan.encode(block, np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert (codes, offsets, data, edges) == (b"", b"\0\0\0\0", b"", None)


_CODES = st.lists(st.integers(-1, 5), max_size=60)
_DICTIONARY = st.lists(st.sampled_from(["x", "y", "z", "", "\u00e9"]), min_size=6, max_size=6)


@settings(max_examples=300, deadline=None)
@given(_CODES, _DICTIONARY)
def test_normalized_codes_are_dictionary_encode_of_the_values(codes, dictionary):
    """A value may stand twice in a coded column's dictionary and some may be unused; normalised,
    the column is what dictionary-encoding its text gives, in the index type compaction keeps,
    with the compiled renumbering and the numpy one alike."""
    column = Coded(np.array(codes, np.int32), pa.array(dictionary, pa.string()))
    expected = compact.compact_codes(column.strings().dictionary_encode())
    assert compact.compact_codes(column.normalized()).equals(expected)
    assert _fallback(column.normalized).equals(column.normalized())
    assert normalized(column.to_arrow()).equals(column.normalized())


@settings(max_examples=200, deadline=None)
@given(_CODES, _DICTIONARY, _CODES, st.data())
def test_coded_choices_equal_the_arrow_kernels_over_the_text(codes, dictionary, other_codes, data):
    n = min(len(codes), len(other_codes))
    one = Coded(np.array(codes[:n], np.int32), pa.array(dictionary, pa.string()))
    two = Coded(np.array(other_codes[:n], np.int32), pa.array(dictionary[::-1], pa.string()))
    rows = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    text, other = one.strings().to_pylist(), two.strings().to_pylist()
    assert one.where(rows, two).strings().to_pylist() == [
        a if r else b for a, b, r in zip(text, other, rows, strict=True)
    ]
    assert one.coalesce(two).strings().to_pylist() == [
        b if a is None else a for a, b in zip(text, other, strict=True)
    ]
    assert one.null_where(rows).strings().to_pylist() == [
        None if r else a for a, r in zip(text, rows, strict=True)
    ]
    assert one.null_if("x").strings().to_pylist() == [None if a == "x" else a for a in text]
    upper = pa.array([None if v == "y" else v.upper() for v in dictionary], pa.string())
    mapped = [None if a is None or a == "y" else a.upper() for a in text]
    assert one.mapped(upper).strings().to_pylist() == mapped
    assert one.used().strings().to_pylist() == text
