#!/usr/bin/env python3
# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Print a markdown table of the registered models: parameters, float32 size, CPU latency.

Latency: Chainer on the CPU, batch 1, random weights (seed 0), inference mode; mean of 5 forward
passes after 1 warm-up. Usage: ``python tools/model_table.py [model ...]``.
"""

import sys
import time

import numpy

from trt_classifier import artefacts, models
from trt_classifier.compat import import_chainer

WARMUP = 1
RUNS = 5


def measure(name):
    chainer = import_chainer()
    spec = models.get_spec(name)
    model = artefacts.chainer_model(artefacts.resolve_weights(name, 'random'))
    params = sum(p.size for p in model.params())
    x = numpy.random.RandomState(0).rand(1, 3, spec.input_size, spec.input_size)
    x = x.astype(numpy.float32)
    times = []
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        for i in range(WARMUP + RUNS):
            start = time.perf_counter()
            model(x)
            if i >= WARMUP:
                times.append(time.perf_counter() - start)
    return params, params * 4 / 1e6, 1000.0 * sum(times) / len(times)


def main(argv):
    names = argv or list(models.MODELS)
    print('| model | params | weights MB (fp32) | Chainer CPU latency (ms, mean of %d) |' % RUNS)
    print('|---|---:|---:|---:|')
    for name in names:
        params, megabytes, ms = measure(name)
        print('| %s | %s | %.1f | %.1f |' % (name, '{:,}'.format(params), megabytes, ms))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
