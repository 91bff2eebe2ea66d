"""The parse stage's pieces wait for the build compacted (issue 14, memory): narrow codes and
integers, all-null columns without buffers; the frame built from them is the same, and its large
category lists keep no lookup table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_scan_parse import _parse, _sample_members

from logscope.frame import category_dtype
from logscope.scan import BACKEND, compact
from logscope.scan.build import PieceBuilder, _joined_codes
from logscope.scan.events import record_piece

SCANNER = "compiled" if BACKEND == "compiled" else "arrow"
INT64 = st.integers(-(2**63), 2**63 - 1)
EDGES = [-(2**63), -(2**31) - 1, -(2**31), -32769, -32768, -129, -128, 0, 127, 128, 32767, 32768]
EDGES += [2**31 - 1, 2**31, 2**63 - 1]


def _pieces_at_build(monkeypatch) -> list[dict]:
    seen: list[dict] = []
    build = PieceBuilder.build

    def spy(self):
        seen.extend(
            {column: getattr(part, "type", None) for column, part in piece.items()} for piece in self.pieces
        )
        return build(self)

    monkeypatch.setattr(PieceBuilder, "build", spy)
    _parse(monkeypatch, SCANNER, _sample_members()[:3])
    return seen


def test_pieces_wait_for_the_build_in_their_narrowest_types(monkeypatch):
    pieces = _pieces_at_build(monkeypatch)
    assert pieces
    for piece in pieces:
        assert piece["level"].index_type in (pa.int8(), pa.int16())  # a block's few levels
        assert piece["line"] in (pa.int8(), pa.int16(), pa.int32())  # a sample's line numbers
    scanned = [piece for piece in pieces if piece["raw"] == pa.null()]  # the text stays in the log
    assert scanned and all(piece["message"] == pa.null() for piece in scanned)
    assert any(piece["depth"] == pa.null() for piece in pieces)  # no TLS depth in most blocks
    assert any(piece["verify_error"] == pa.null() for piece in pieces)  # nor a verify error


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    parts=st.lists(st.lists(st.one_of(st.none(), INT64, st.sampled_from(EDGES)), max_size=12), max_size=5),
    shuffle=st.randoms(use_true_random=False),
    in_order=st.booleans(),
)
def test_integer_parts_at_every_width_give_the_int64_column(parts, shuffle, in_order):
    parts = [part for part in parts if part]
    flat = [value for part in parts for value in part]
    order = np.arange(len(flat))
    if not in_order:
        shuffle.shuffle(order)
    compacted = [compact.compact_integers(pa.array(part, pa.int64())) for part in parts]
    got = compact.integer_column(compacted, None if in_order else order)
    expected = pd.array([flat[i] for i in order], dtype="Int64")
    pd.testing.assert_extension_array_equal(got, expected)
    for part, small in zip(parts, compacted, strict=True):
        values = [value for value in part if value is not None]
        assert small.type == (compact.narrowest(min(values), max(values)) if values else pa.null())


@pytest.mark.parametrize("distinct", [3, 127, 128, 300, 32768])
def test_codes_compacted_per_piece_join_as_pyarrows_unified_dictionaries(distinct):
    rows = np.random.default_rng(distinct).integers(0, distinct, 3 * distinct).tolist()
    texts = [None if row % 7 == 0 else f"value-{row}" for row in rows]
    bounds = [(0, distinct), (distinct, distinct), (distinct, 3 * distinct)]  # one part of no rows
    parts = [pa.array(texts[start:end], pa.string()).dictionary_encode() for start, end in bounds]
    parts.insert(1, pa.array([None, None], pa.string()).dictionary_encode())  # an empty dictionary
    unified = pa.chunked_array(parts).unify_dictionaries()
    expected = [chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False) for chunk in unified.chunks]
    codes, dictionary = compact.joined_codes([compact.compact_codes(part) for part in parts])
    np.testing.assert_array_equal(codes, np.concatenate(expected))
    assert dictionary.equals(unified.chunk(0).dictionary) and codes.dtype == compact.code_dtype(
        len(dictionary)
    )
    order = np.random.default_rng(1).permutation(len(codes))
    moved, values = _joined_codes([compact.compact_codes(part) for part in parts], order)
    assert [values[code].as_py() if code >= 0 else None for code in moved] == [
        texts[i] if i < distinct else (texts[i - 2] if i >= distinct + 2 else None) for i in order
    ]


def test_the_built_frames_large_category_lists_keep_no_lookup_table():
    records = [
        {"line": line, "kind": "other", "tracking_id": f"t-{line % 50}", "level": "INFO"}
        for line in range(1, 201)
    ]
    builder = PieceBuilder(year=2026)
    builder.add(record_piece(records, 2026), builder.next_sequence())
    frame = builder.build()
    categories = frame["tracking_id"].cat.categories
    assert len(categories) == 50 and "_engine" not in categories._cache
    assert (frame["tracking_id"] == "t-7").sum() == 4  # a lookup still finds its rows
    assert frame["tracking_id"].astype(object).tolist() == [f"t-{line % 50}" for line in range(1, 201)]


def test_rows_of_different_blocks_with_equal_unknown_keys_share_one_dict():
    def block(lines: range, value: str) -> list[dict]:
        return [
            {"line": line, "kind": "other", "extra": {"Deployment": value, "Rule": "r"}} for line in lines
        ]

    builder = PieceBuilder(year=2026)
    for rows in (block(range(1, 4), "1"), block(range(4, 6), "1") + block(range(6, 7), "2")):
        rows.append({"line": rows[-1]["line"] + 1, "kind": "other", "extra": {"Rule": ["a list"]}})
        builder.add(record_piece(rows, 2026), builder.next_sequence())
    extras = builder.build()["extra"].tolist()
    assert extras == [{"Deployment": "1", "Rule": "r"}] * 3 + [{"Rule": ["a list"]}] + [
        {"Deployment": "1", "Rule": "r"}
    ] * 2 + [{"Deployment": "2", "Rule": "r"}, {"Rule": ["a list"]}]
    assert len({id(extra) for extra in extras[:3] + extras[4:6]}) == 1  # one dict across both blocks
    assert extras[6] is not extras[0] and extras[3] is not extras[7]  # other contents stay their own


def test_unknown_keys_follow_their_rows_when_blocks_arrive_out_of_order():
    def rows(lines: range, value: str) -> list[dict]:
        return [{"line": line, "kind": "other", "extra": {"Rule": f"{value}{line}"}} for line in lines]

    builder = PieceBuilder(year=2026)
    first, second = builder.next_sequence(), builder.next_sequence()
    later = [*rows(range(4, 7), "b"), {"line": 7, "kind": "other"}]
    builder.add(record_piece(later, 2026), second)  # the second block's piece is added first
    builder.add(record_piece(rows(range(1, 4), "a"), 2026), first)
    frame = builder.build()
    assert frame["line"].tolist() == list(range(1, 8))
    expected = [{"Rule": f"{value}{line}"} for value, line in zip("aaabbb", range(1, 7), strict=True)]
    assert frame["extra"].tolist() == [*expected, None]


def _sliced(values: list, pad: int, kind: pa.DataType) -> pa.Array:
    """`values` as a slice of a longer array (the slice starts `pad` items in), as pieces can be."""
    return pa.array([7] * pad + values + [7] * 3, kind).slice(pad, len(values))


@pytest.mark.parametrize("pad", [0, 1, 5, 8, 13])
def test_integer_and_code_parts_read_from_their_buffers_honour_slices_and_nulls(pad):
    values = [None, 1, -2, None, 100, None, 5, 6, 7, None, 11]
    parts = [_sliced(values, pad, kind) for kind in (pa.int8(), pa.int16(), pa.int32(), pa.int64())]
    got = compact.integer_column([_sliced([None, None], pad, pa.int16()), *parts])
    expected = pd.array([None, None] + values * len(parts), dtype="Int64")
    pd.testing.assert_extension_array_equal(got, expected)
    assert not got._data[got._mask].any()  # a null's value is 0, whatever its slot held
    texts = [None if value is None else f"t{value % 4}" for value in values]
    coded = pa.array(["x"] * pad + texts, pa.string()).dictionary_encode().slice(pad)
    codes, dictionary = compact.joined_codes([coded, pa.nulls(2), coded])
    assert [dictionary[code].as_py() if code >= 0 else None for code in codes] == texts + [None] * 2 + texts


def test_the_build_gives_back_the_memory_of_each_columns_parts(monkeypatch):
    released = []
    monkeypatch.setattr(compact, "release_freed_memory", lambda: released.append(True))
    builder = PieceBuilder(year=2026)
    builder.add(record_piece([{"line": 1, "kind": "other"}], 2026), builder.next_sequence())
    frame = builder.build()
    assert len(released) == len(frame.columns) + 1  # once for the scan, then after every column
    monkeypatch.undo()
    compact.release_freed_memory()  # the real one runs anywhere (no glibc: the pool only)


def test_pieces_of_one_block_are_joined_in_line_order_and_blocks_in_their_order():
    builder = PieceBuilder(year=2026)
    first, second = builder.next_sequence(), builder.next_sequence()
    builder.add(record_piece([{"line": line, "kind": "other"} for line in (10, 12)], 2026), second)
    builder.add(record_piece([{"line": line, "kind": "other"} for line in (2, 5)], 2026), first)
    builder.add(record_piece([{"line": line, "kind": "other"} for line in (3, 4)], 2026), first)
    builder.add(record_piece([{"line": 11, "kind": "other"}], 2026), second)
    assert builder.build()["line"].tolist() == [2, 3, 4, 5, 10, 11, 12]


@pytest.mark.parametrize("distinct", [3, 32, 33, 500])
def test_long_category_lists_made_from_arrow_values_have_the_list_made_dtype(distinct):
    records = [
        {"line": line, "kind": "other", "tracking_id": f"t-{(line * 7) % distinct}"}
        for line in range(1, 3 * distinct + 1)
    ]
    builder = PieceBuilder(year=2026)
    builder.add(record_piece(records, 2026), builder.next_sequence())
    built = builder.build()["tracking_id"]
    expected = pd.Series([record["tracking_id"] for record in records], dtype="string").astype("category")
    assert built.dtype == expected.dtype
    assert built.cat.categories.dtype == category_dtype([], "string").categories.dtype
    assert built.astype(object).tolist() == expected.astype(object).tolist()


@pytest.mark.parametrize("count", [0, 1, 126, 127, 32766, 32767, 2**31 - 2, 2**31 - 1])
def test_codes_are_made_in_the_type_pandas_keeps_them_in(count):
    categories = pd.Index(np.arange(count, dtype=np.int64)) if count < 40_000 else None
    dtype = compact.code_dtype(count)
    if categories is not None:  # pandas' own choice, for the counts an index can be made of here
        codes = np.full(3, -1, np.int64)
        assert pd.Categorical.from_codes(codes, categories=categories).codes.dtype == dtype
    assert dtype == {0: np.int8, 1: np.int8, 126: np.int8, 127: np.int16, 32766: np.int16}.get(
        count, np.int32 if count < 2**31 - 1 else np.int64
    )
