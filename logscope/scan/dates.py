"""Calendar arithmetic over numpy arrays, as the C scanner does it per value (days_from_civil)."""

from __future__ import annotations

import numpy as np


def days_from_civil(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (Howard Hinnant's algorithm)."""
    year = year - (month <= 2)
    era = np.where(year >= 0, year, year - 399) // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    """Days in each (year, month); a month outside 1-12 has 0 (no day is valid in it)."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.clip(month, 0, 12)]
    return np.where((month >= 1) & (month <= 12), days + ((month == 2) & leap), 0)
