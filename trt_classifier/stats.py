# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Latency statistics (milliseconds) for diagnostics and benchmark reports."""

import collections
import math

STAT_KEYS = ('n', 'mean_ms', 'median_ms', 'p90_ms', 'p99_ms', 'std_ms', 'min_ms', 'max_ms',
             'fps')


def percentile(sorted_values, q):
    """Linear-interpolated percentile of an ascending list (NumPy's default method)."""
    if not sorted_values:
        return float('nan')
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarize(samples):
    """mean, median, p90, p99, population std, min, max, FPS (1000/mean) and n of ``samples``."""
    values = sorted(float(v) for v in samples)
    n = len(values)
    if not n:
        return {k: 0 if k == 'n' else float('nan') for k in STAT_KEYS}
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / n)
    return collections.OrderedDict([
        ('n', n), ('mean_ms', mean), ('median_ms', percentile(values, 50)),
        ('p90_ms', percentile(values, 90)), ('p99_ms', percentile(values, 99)),
        ('std_ms', std), ('min_ms', values[0]), ('max_ms', values[-1]),
        ('fps', 1000.0 / mean if mean > 0 else float('inf')),
    ])


class Window(object):
    """The last ``size`` samples, for rolling diagnostics (mean and p99)."""

    def __init__(self, size=100):
        self.values = collections.deque(maxlen=size)

    def add(self, value):
        self.values.append(float(value))

    def summary(self):
        # list(deque) copies in C under the GIL: the worker may append meanwhile.
        return summarize(list(self.values))
