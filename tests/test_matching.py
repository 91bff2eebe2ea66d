"""Signature conditions over frame columns (logscope.signatures.matching)."""

from __future__ import annotations

import pandas as pd

from logscope.signatures.matching import normalize_text, where_mask


def test_a_regex_condition_reads_a_run_of_white_space_as_one_space():
    frame = pd.DataFrame({"ssl_reason": ["tlsv1 alert  unknown\tca", "tlsv1 alert unknown ca", "other"]})
    mask = where_mask(frame, [{"ssl_reason": {"regex": "alert (unknown ca|bad certificate)"}}])
    assert mask.tolist() == [True, True, False]


def test_listed_values_compare_case_and_spacing_free_and_self_signed_either_way():
    assert normalize_text("  Self-Signed   Certificate ") == "self signed certificate"
