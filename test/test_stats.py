# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Latency statistics: exact values on a known sample, the empty case, the rolling window."""

import math

import numpy
import pytest

from trt_classifier.stats import percentile, STAT_KEYS, summarize, Window

SAMPLE = [12.0, 3.0, 7.5, 1.0, 20.0, 4.0, 9.0, 6.0, 2.5, 15.0, 8.0]


def test_summarize_known_sample():
    s = summarize(SAMPLE)
    assert list(s) == list(STAT_KEYS)
    assert s['n'] == 11
    assert s['mean_ms'] == pytest.approx(88.0 / 11)
    assert s['median_ms'] == 7.5
    assert s['min_ms'] == 1.0 and s['max_ms'] == 20.0
    # Hand-computed linear interpolation: p90 at position 9.0, p99 at 9.9 of the sorted list.
    assert s['p90_ms'] == pytest.approx(15.0)
    assert s['p99_ms'] == pytest.approx(15.0 + 0.9 * 5.0)
    assert s['std_ms'] == pytest.approx(float(numpy.std(SAMPLE)))  # population (ddof=0)
    assert s['std_ms'] != pytest.approx(float(numpy.std(SAMPLE, ddof=1)))
    assert s['fps'] == pytest.approx(1000.0 / (88.0 / 11))


@pytest.mark.parametrize('seed,n', [(0, 1), (1, 2), (2, 10), (3, 101), (4, 1000)])
def test_summarize_matches_numpy(seed, n):
    values = numpy.random.RandomState(seed).exponential(5.0, n)
    s = summarize(list(values))
    assert s['n'] == n
    assert s['mean_ms'] == pytest.approx(values.mean(), rel=1e-12)
    assert s['median_ms'] == pytest.approx(numpy.percentile(values, 50), rel=1e-12)
    assert s['p90_ms'] == pytest.approx(numpy.percentile(values, 90), rel=1e-12)
    assert s['p99_ms'] == pytest.approx(numpy.percentile(values, 99), rel=1e-12)
    assert s['std_ms'] == pytest.approx(values.std(), rel=1e-9, abs=1e-12)
    assert s['min_ms'] == values.min() and s['max_ms'] == values.max()


def test_summarize_accepts_any_iterable_of_numbers():
    s = summarize(iter([1, 2, 3]))
    assert s['n'] == 3 and s['mean_ms'] == 2.0 and isinstance(s['mean_ms'], float)


def test_summarize_empty():
    s = summarize([])
    assert set(s) == set(STAT_KEYS)
    assert s['n'] == 0
    for key in STAT_KEYS[1:]:
        assert math.isnan(s[key]), key


def test_summarize_zero_mean_has_infinite_fps():
    s = summarize([0.0, 0.0])
    assert s['fps'] == float('inf') and s['std_ms'] == 0.0


def test_percentile_edges():
    assert math.isnan(percentile([], 50))
    assert percentile([4.0], 99) == 4.0
    assert percentile([1.0, 3.0], 0) == 1.0 and percentile([1.0, 3.0], 100) == 3.0
    assert percentile([1.0, 3.0], 25) == 1.5


def test_window_keeps_the_last_n():
    window = Window(5)
    for value in range(1, 13):
        window.add(value)
    assert list(window.values) == [8.0, 9.0, 10.0, 11.0, 12.0]
    s = window.summary()
    assert s['n'] == 5 and s['mean_ms'] == 10.0 and s['min_ms'] == 8.0 and s['max_ms'] == 12.0


def test_window_not_yet_full_and_empty():
    window = Window(100)
    assert window.summary()['n'] == 0
    window.add('2.5')  # anything float() accepts
    window.add(7)
    s = window.summary()
    assert s['n'] == 2 and s['mean_ms'] == 4.75
