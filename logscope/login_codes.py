"""The requests of the logins stage as integer codes (issue 16, speed).

A storm repeats a few thousand paths, servers and users over a million requests, so every text
column is held as codes into its distinct values (a pandas categorical's own codes, or one
factorization): string work (regular expressions, lower-casing, URL building) runs once per distinct
value and the per-request work is numpy. `Column` is one such column; `Requests` the table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

UNKNOWN_NODE = "unknown"
NAT = np.iinfo("int64").min  # what a missing time reads as int64 (numpy and pandas alike)
_UDS_USER = re.compile(r"^/cucm-uds/(?:private/)?user/([^/?#]+)")
_DEVICE_FILE = re.compile(r"/([^/?#]+)\.(?:cnf\.xml|tlv)(?:\.sgn)?(?:[?#]|$)")
_DEVICE_PREFIX = re.compile(r"^(?i:CSF|BOT|TCT|TAB)(.+)$")
_ROUTE_PATH = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]+/[^/]+(/[^ ]*)?$")


@dataclass
class Column:
    """A text column: `codes` (-1 missing) into `values` (an object array of distinct str).

    The codes are in the narrowest signed type that holds them (`narrow`), often a categorical's own
    codes read in place: a storm's half a million requests make an int64 column 4 MiB of fresh
    pages, an int8 one 0.5 MiB. Arithmetic that mixes codes widens to int64 first (`joint_keys`,
    `pair_codes`)."""

    codes: np.ndarray
    values: np.ndarray

    def text(self) -> np.ndarray:
        """Per row, the text (None when missing): for the few rows a step needs as text."""
        return _take_text(self.values, self.codes)

    def categorical(self, rows: np.ndarray | None = None) -> pd.Categorical:
        """The column (or its `rows`) as a pandas categorical: no per-row text is built."""
        codes = self.codes if rows is None else self.codes[rows]
        return pd.Categorical.from_codes(codes, categories=pd.Index(self.values, dtype=object))


def column(values: pd.Series, where: np.ndarray | None = None, at: np.ndarray | None = None) -> Column:
    """A series as codes: a categorical's own codes, else one factorization of its text. With
    `where` (a mask), the other rows are missing and their values never made into text; with `at`
    (positions), only those rows (a categorical's codes taken, no series built)."""
    if where is not None and not where.any():  # no row wanted: nothing to read
        return Column(
            np.full(len(values) if at is None else len(at), -1, dtype="int64"), np.zeros(0, dtype=object)
        )
    if at is not None and not isinstance(values.dtype, pd.CategoricalDtype):
        return column(values.iloc[at])
    if where is not None and not isinstance(values.dtype, pd.CategoricalDtype):
        full = column(values)
        return compact(Column(np.where(where, full.codes, -1), full.values))
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes, categories = _used_categories(values, where, at)
        if isinstance(categories.dtype, pd.StringDtype) or categories.inferred_type in ("string", "empty"):
            return Column(codes, categories.to_numpy(dtype=object))
        return unique_column(codes, np.array([str(value) for value in categories], dtype=object))
    codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
    return Column(codes.astype(narrow(len(uniques)), copy=False), np.asarray(uniques, dtype=object))


def _used_categories(
    values: pd.Series, where: np.ndarray | None = None, at: np.ndarray | None = None
) -> tuple[np.ndarray, pd.Index]:
    """A categorical's codes (int64, -1 missing) into only the categories its rows (or the rows `at`)
    use: a frame's categoricals often keep every value of the log."""
    categorical = values.array
    raw = categorical.codes if at is None else categorical.codes[at]  # pandas' narrow ints, -1 missing
    if where is not None:
        raw = np.where(where, raw, -1)
    categories = categorical.categories
    used = np.flatnonzero(np.bincount(raw + 1, minlength=len(categories) + 1)[1:])  # +1 fits: codes < the max
    if len(used) == len(categories):
        return raw, categories  # read-only when it is the categorical's own: no caller writes codes
    mapping = np.full(len(categories) + 1, -1, dtype=narrow(len(used)))  # the last entry: what -1 reads
    mapping[used] = np.arange(len(used))
    return mapping[raw], categories.take(used)


def arrow_column(values: pd.Series, at: np.ndarray | None = None) -> tuple[np.ndarray, pa.Array]:
    """A text series (or its rows `at`) as codes into an arrow array of its distinct values, where a
    value no row uses may be null. A string categorical's categories go to arrow as they are, text
    not copied: the codes are the categorical's own and the categories no row uses are masked out
    (a storm's allow lines use 133 thousand of its 295 thousand URLs: copying those out was 13 MiB
    of fresh pages), so per-value work skips them."""
    categorical = values.array
    if isinstance(categorical, pd.Categorical) and isinstance(categorical.categories.dtype, pd.StringDtype):
        codes = categorical.codes if at is None else categorical.codes[at]
        categories = pa.array(categorical.categories.array, pa.large_string())
        if isinstance(categories, pa.ChunkedArray):
            categories = categories.combine_chunks()
        used = np.bincount(codes + 1, minlength=len(categories) + 1)[1:] > 0  # +1 fits: codes < the max
        return codes, masked(categories, used)
    col = column(values, at=at)
    return col.codes, pa.array(col.values, pa.string())


def masked(texts: pa.Array, keep: np.ndarray) -> pa.Array:
    """`texts` (string or large_string) with the values where `keep` is false made null, over the
    same offsets and text buffers (no copy)."""
    if keep.all():
        return texts
    valid = keep & texts.is_valid().to_numpy(zero_copy_only=False)
    bits = validity_bitmap(np.concatenate([np.zeros(texts.offset, dtype=bool), valid]))
    _, offsets, data = texts.buffers()
    nulls = int((~valid).sum())
    return pa.Array.from_buffers(texts.type, len(texts), [bits, offsets, data], nulls, texts.offset)


def validity_bitmap(valid: np.ndarray) -> pa.Buffer:
    """An arrow validity bitmap of `valid` (one bit per value, least significant first)."""
    return pa.py_buffer(np.packbits(valid, bitorder="little"))


def known_at(values: pd.Series, at: np.ndarray) -> np.ndarray:
    """Whether each of the rows `at` has a value (a categorical's codes read, no series built)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.array.codes[at] >= 0
    return values.iloc[at].notna().to_numpy(dtype=bool)


def is_text(values: pd.Series, text: str) -> np.ndarray:
    """Whether each row is `text` (a categorical compared by its codes)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        found = values.array.categories.get_indexer([text])[0]
        return values.array.codes == found if found >= 0 else np.zeros(len(values), dtype=bool)
    return (values == text).to_numpy(dtype=bool, na_value=False)


def unique_column(codes: np.ndarray, texts: np.ndarray) -> Column:
    """`codes` into `texts`, which may repeat a text (categories that differ only in type): merged."""
    if len(texts) == 0:
        return Column(codes, texts.astype(object))
    inverse, uniques = pd.factorize(texts.astype(object))
    if len(uniques) == len(texts):
        return Column(codes, texts.astype(object))
    return Column(_remap(codes, inverse.astype("int64")), np.asarray(uniques, dtype=object))


def per_value(col: Column, function: Callable[[str], str | None]) -> Column:
    """`function` applied once per distinct value the rows use (None: missing)."""
    used = used_codes(col)
    return spread(col, used, [function(value) for value in col.values[used]])


def per_value_ascii(
    col: Column, in_arrow: Callable[[pa.Array], pa.Array], function: Callable[[str], str | None]
) -> Column:
    """`per_value(col, function)`, with `in_arrow` (what `function` does, on an arrow array) doing
    it for the values that are ASCII and one line, where RE2 and ASCII lower-casing read a text
    exactly as `re` and str.lower do; `function` for the others."""
    used = used_codes(col)
    values = col.values[used]
    text = pa.array(values, pa.string()) if len(values) else pa.array([], pa.string())
    plain = pc.and_(pc.string_is_ascii(text), pc.invert(pc.match_substring(text, "\n")))
    at = np.flatnonzero(plain.to_numpy(zero_copy_only=False))
    results = np.full(len(values), None, dtype=object)
    if len(at):
        results[at] = in_arrow(text.take(pa.array(at))).to_numpy(zero_copy_only=False)
    for index in np.flatnonzero(~np.isin(np.arange(len(values)), at)).tolist():
        results[index] = function(values[index])
    return spread(col, used, results)


def spread(col: Column, used: np.ndarray, results: list[str | None] | np.ndarray) -> Column:
    """Per row of `col`, the result computed for its value (`results[i]` for the value `used[i]`)."""
    results = np.asarray(results, dtype=object).reshape(len(used))
    known = ~pd.isna(results)  # the results are texts or None
    texts = results[known]
    mapping = np.full(len(col.values), -1, dtype="int64")
    merged = unique_column(np.arange(len(texts), dtype="int64"), texts)
    mapping[used[known]] = merged.codes
    return Column(_remap(col.codes, mapping), merged.values)


def compact(col: Column) -> Column:
    """The column with only the values its rows use."""
    used = used_codes(col)
    if len(used) == len(col.values):
        return col
    mapping = np.full(len(col.values), -1, dtype="int64")
    mapping[used] = np.arange(len(used), dtype="int64")
    return Column(_remap(col.codes, mapping), col.values[used])


def used_codes(col: Column) -> np.ndarray:
    """The codes at least one row uses, ascending."""
    counts = np.bincount(col.codes + 1, minlength=len(col.values) + 1)  # -1 (missing) counted apart
    return np.flatnonzero(counts[1:])


def coalesce(first: Column, second: Column) -> Column:
    """Per row, `first`'s value, else `second`'s: both mapped into one set of distinct values."""
    if not (second.codes >= 0).any():
        return compact(first)  # what `shared` makes of it, without the work
    (one, two), values = shared(first, second)
    return Column(np.where(one >= 0, one, two), values)


def shared(*columns: Column) -> tuple[list[np.ndarray], np.ndarray]:
    """The columns' codes re-expressed in one shared set of the distinct values they use."""
    useds = [used_codes(col) for col in columns]
    texts = np.concatenate([col.values[used] for col, used in zip(columns, useds, strict=True)])
    merged = unique_column(np.arange(len(texts), dtype="int64"), texts.astype(object))
    codes, start = [], 0
    for col, used in zip(columns, useds, strict=True):
        mapping = np.full(len(col.values), -1, dtype="int64")
        mapping[used] = merged.codes[start : start + len(used)]
        start += len(used)
        codes.append(_remap(col.codes, mapping))
    return codes, merged.values


def ranks(values: np.ndarray) -> np.ndarray:
    """Each distinct text's rank in sorted (code point) order: what `factorize(sort=True)` numbers.

    Sorted by pyarrow (UTF-8 byte order is code point order); a text UTF-8 cannot hold (a lone
    surrogate) leaves it to Python's comparison."""
    try:
        order = (
            pc.sort_indices(pa.array(values, pa.string())).to_numpy() if len(values) else np.zeros(0, "int64")
        )
    except (pa.ArrowException, UnicodeEncodeError):
        order = np.argsort(values, kind="stable")
    result = np.empty(len(values), dtype="int64")
    result[order] = np.arange(len(values), dtype="int64")
    return result


def ticks(times: pd.Series | pd.api.extensions.ExtensionArray, unit: str = "ns") -> np.ndarray:
    """Times as int64 counts of `unit` (NaT: the int64 minimum): a datetime array of that unit read in
    place (read-only), never converted; others converted."""
    array = times.array if isinstance(times, pd.Series) else times
    if isinstance(array, pd.arrays.DatetimeArray) and array.unit == unit:
        return array.asi8
    return np.asarray(array.to_numpy(dtype=f"datetime64[{unit}]")).view("int64")


def narrow(count: int) -> type[np.signedinteger]:
    """The narrowest signed type holding codes of `count` values and -1 (with room for the +1 of a
    bincount): the type pandas keeps a categorical's codes in for as many categories (int8 below
    127, then int16, int32), so codes taken in it become a frame's categorical without a copy."""
    for kind in (np.int8, np.int16, np.int32):
        if count < np.iinfo(kind).max:
            return kind
    return np.int64


def ints(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """A numeric column as (int64 values, known mask); unreadable values are missing."""
    if pd.api.types.is_integer_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        known = values.notna().to_numpy(dtype=bool)  # an integer column as it is: no parsing
        return values.to_numpy(dtype="int64", na_value=0), known
    numbers = pd.to_numeric(values, errors="coerce").astype("Int64")
    return numbers.to_numpy(dtype="int64", na_value=0), numbers.notna().to_numpy(dtype=bool)


def one_of(values: np.ndarray, choices: tuple[int, ...]) -> np.ndarray:
    """`np.isin(values, choices)` for a few constants: one comparison each, no sort."""
    result = np.zeros(len(values), dtype=bool)
    for choice in choices:
        result |= values == choice
    return result


def route_path(url: str) -> str | None:
    """The path of a route URL (`https://host:port/<segment>/<path>` -> `/<path>`)."""
    match = _ROUTE_PATH.search(url)
    return match.group(1) if match else None


def uds_user(path: str) -> str | None:
    match = _UDS_USER.search(path)
    return match.group(1) if match else None


def device_name(path: str) -> str | None:
    match = _DEVICE_FILE.search(path)
    return match.group(1) if match else None


def device_owner(device: str) -> str | None:
    """The user a Jabber device's name carries, lower-cased (`CSFemusk` -> `emusk`, seed 003)."""
    match = _DEVICE_PREFIX.search(device)
    return match.group(1).lower() if match else None


def device_owners(devices: pa.Array) -> pa.Array:
    """`device_owner` of ASCII one-line names (null without the prefix)."""
    found = pc.extract_regex(devices, _name_first_group(_DEVICE_PREFIX.pattern))
    return pc.ascii_lower(pc.if_else(found.is_valid(), found.field("value"), pa.scalar(None, pa.string())))


def path_facts(col: Column, kinds: tuple[str, ...]) -> tuple[Column, Column, Column]:
    """Per request, from its path: the step the path names, the UDS user and the device whose
    configuration file it is. Worked out once per distinct path: by pyarrow (RE2) for the plain ones
    (ASCII, one line: where RE2 and ASCII lower-casing read a path exactly as `re` and str.lower
    do), in Python for the others."""
    used = used_codes(col)
    paths = col.values[used]
    kind = np.empty(len(paths), dtype=object)
    user = np.full(len(paths), None, dtype=object)
    device = np.full(len(paths), None, dtype=object)
    text = pa.array(paths, pa.string()) if len(paths) else pa.array([], pa.string())
    plain = pc.and_(pc.string_is_ascii(text), pc.invert(pc.match_substring(text, "\n"))).to_numpy(
        zero_copy_only=False
    )
    at = np.flatnonzero(plain)
    if len(at):
        chosen = text.take(pa.array(at))
        kind[at] = _arrow_kinds(chosen, kinds)
        # each pattern only where its literal part is: a storm's paths are UDS or device files
        maybe_user = _where(pc.starts_with(chosen, "/cucm-uds/"))
        user[at[maybe_user]] = _extracted(chosen.take(pa.array(maybe_user)), _UDS_USER.pattern)
        maybe_device = _where(
            pc.or_(pc.match_substring(chosen, ".cnf.xml"), pc.match_substring(chosen, ".tlv"))
        )
        device[at[maybe_device]] = _extracted(chosen.take(pa.array(maybe_device)), _DEVICE_FILE.pattern)
    for index in np.flatnonzero(~plain).tolist():
        path = paths[index]
        kind[index], user[index], device[index] = path_kind(path, kinds), uds_user(path), device_name(path)
    return (
        spread(col, used, kind),
        spread(col, used, user),
        spread(col, used, device),
    )


def _where(mask: pa.Array) -> np.ndarray:
    """The positions where a boolean arrow array is true."""
    return np.flatnonzero(mask.to_numpy(zero_copy_only=False))


def _arrow_kinds(paths: pa.Array, kinds: tuple[str, ...]) -> np.ndarray:
    """`path_kind` of ASCII paths, vectorised."""
    lower = pc.ascii_lower(paths)

    def has(text: str) -> np.ndarray:
        return pc.match_substring(lower, text).to_numpy(zero_copy_only=False)

    def starts(text: str) -> np.ndarray:
        return pc.starts_with(lower, text).to_numpy(zero_copy_only=False)

    conditions = [
        has("get_edge_config"),
        starts("/cucm-uds/"),
        starts("/cup/") | has("bosh") | starts("/epassoap/"),
        starts("/vmrest/"),
        has("register"),
    ]
    return np.select(conditions, np.array(kinds[:5], dtype=object), default=kinds[5])


def _extracted(paths: pa.Array, pattern: str) -> np.ndarray:
    """The first group of `pattern` (searched, as re.search does) in each path, None without a match."""
    named = _name_first_group(pattern)
    found = pc.extract_regex(paths, named)
    values = np.array(found.field("value").to_pylist(), dtype=object)  # the struct's nulls are its own
    values[~found.is_valid().to_numpy(zero_copy_only=False)] = None
    return values


def _name_first_group(pattern: str) -> str:
    """The pattern with its first capturing group named `value` (what extract_regex returns)."""
    for index, char in enumerate(pattern):
        if (
            char == "("
            and pattern[index + 1 : index + 2] != "?"
            and (index == 0 or pattern[index - 1] != "\\")
        ):
            return pattern[: index + 1] + "?P<value>" + pattern[index + 1 :]
    raise ValueError(pattern)


def path_kind(path: str, kinds: tuple[str, ...]) -> str:
    """The step a path names whatever its port (`kinds`: edge-config, uds, imp, voicemail,
    registration, other; device-config is decided by the port)."""
    lower = path.lower()
    if "get_edge_config" in lower:
        return kinds[0]
    if lower.startswith("/cucm-uds/"):
        return kinds[1]
    if lower.startswith("/cup/") or "bosh" in lower or lower.startswith("/epassoap/"):
        return kinds[2]
    if lower.startswith("/vmrest/"):
        return kinds[3]
    if "register" in lower:
        return kinds[4]
    return kinds[5]


def first_per_key(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct `keys` (sorted) and, for each, the first of its `rows` (rows ascending)."""
    if len(keys) and keys.min() >= 0 and keys.max() < 2**16:  # a stable radix sort of 16-bit keys
        order = np.argsort(keys.astype(np.uint16), kind="stable")
        ranked = keys[order]
        starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
        return ranked[starts], rows[order[starts]]
    codes, uniques = pd.factorize(keys)  # numbered by first appearance: no sort of the rows
    firsts = np.flatnonzero(codes == np.maximum.accumulate(np.r_[-1, codes])[:-1] + 1)
    order = np.argsort(np.asarray(uniques))
    return np.asarray(uniques)[order], rows[firsts[order]]


def lookup(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """`values` of `wanted` in the sorted `keys` (-1 where absent)."""
    if len(keys) == 0:
        return np.full(len(wanted), -1, dtype="int64")
    where = np.searchsorted(keys, wanted).clip(max=len(keys) - 1)
    return np.where(keys[where] == wanted, values[where], -1)


def pair_codes(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """One code per distinct (first, second) pair of non-negative ints (never overflows)."""
    high = int(second.max()) + 1 if len(second) else 1
    return dense_codes(first.astype("int64") * high + second.astype("int64"))[0]


def dense_codes(values: np.ndarray, limit: int = 2**22) -> tuple[np.ndarray, np.ndarray]:
    """Each int's code into the distinct ints (int64 both): by a table when they are small and
    non-negative (ascending; a table no longer than a few times the ints), else by one
    factorization (in order of appearance)."""
    if len(values) and values.min() >= 0 and values.max() < min(limit, 4 * len(values) + 2**12):
        distinct = np.flatnonzero(np.bincount(values))
        table = np.zeros(int(values.max()) + 1, dtype="int64")
        table[distinct] = np.arange(len(distinct))
        return table[values], distinct
    codes, distinct = pd.factorize(values)
    return codes.astype("int64"), np.asarray(distinct, dtype="int64")


def joint_key(*pairs: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """One int per distinct tuple over the left rows then the right rows (equal tuple, equal key)."""
    return np.concatenate(joint_keys(*pairs))


def joint_keys(*pairs: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """One int per distinct tuple, for the left rows and for the right rows (equal tuple, equal key):
    mixed by arithmetic when the codes are small enough (a part with one value left out), else
    factorized pair by pair."""
    pairs = tuple(
        (left.astype("int64", copy=False), right.astype("int64", copy=False)) for left, right in pairs
    )
    sizes = (len(pairs[0][0]), len(pairs[0][1]))
    lows, spans = [], []
    for pair in pairs:
        known = [side for side in pair if len(side)]
        low = min((int(side.min()) for side in known), default=0)
        lows.append(low)
        spans.append(max((int(side.max()) for side in known), default=low) - low + 1)
    if float(np.prod(np.array(spans, dtype="float64"))) < 2.0**62:
        keys = []
        for side in (0, 1):
            key = np.zeros(sizes[side], dtype="int64")
            for pair, span, low in zip(pairs, spans, lows, strict=True):
                if span > 1:  # in place: no temporary
                    key *= span
                    key += pair[side]
                    key -= low  # int64 wraps and comes back: exact whatever the values (huge ids)
            keys.append(key)
        return keys[0], keys[1]
    key = None
    for left, right in pairs:
        codes = pd.factorize(np.concatenate([left, right]))[0].astype("int64")
        key = codes if key is None else pair_codes(key, codes)
    return key[: sizes[0]], key[sizes[0] :]


def _remap(codes: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """`mapping[code]` per code, -1 staying -1 (the appended last entry), in the narrowest type."""
    padded = np.empty(len(mapping) + 1, dtype=narrow(int(mapping.max(initial=-1)) + 1))
    padded[:-1] = mapping
    padded[-1] = -1
    return padded[codes]


def _take_text(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    padded = np.append(values, None).astype(object)
    return padded[np.where(codes >= 0, codes, len(values))]
