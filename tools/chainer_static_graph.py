# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Experiment: the Chainer backend with Chainer's static subgraph optimisation.

``StaticGraphChainerBackend`` runs the forward through ``chainer.static_graph`` (experimental in
Chainer 7.8.1): the first call runs define-by-run and records a schedule of the functions'
``forward`` calls; later calls with the same input shape replay that schedule without building
Variables and the graph. Same kernels, same results; it only removes Python per-function
overhead. It missed the latency targets (benchmarks/h100), so the node does not offer it; it
lives here, beside tools/gpu_bench.py, which measures it.

Check it against eager Chainer on the GPU (test/test_gpu.py runs this), from the repository root:

    PYTHONPATH=. python3 tools/chainer_static_graph.py [--models squeezenet1_1,resnet101]

Prints one JSON summary (relative L2 per model and input) on stdout; exit status 0 when every
replayed forward matches eager to 1e-5, 1 otherwise.
"""

import argparse
import contextlib
import io
import json
import sys

import numpy

from trt_classifier.agreement import relative_l2
from trt_classifier.backends.chainer_backend import ChainerBackend

TOLERANCE = 1e-5


class StaticGraphChainerBackend(ChainerBackend):
    """The chainer backend, its forward replayed from a static schedule after the first call."""

    def _load(self):
        super(StaticGraphChainerBackend, self)._load()
        from chainer.graph_optimizations.static_graph import static_graph
        self._wrapped = static_graph(type(self.model).forward)
        self._schedule_built = False

    def forward(self, x):
        if self._schedule_built:
            return self._wrapped(self.model, x)
        # Chainer 7.8.1 prints 'end of build_schedule()' when it records the schedule.
        with contextlib.redirect_stdout(io.StringIO()):
            y = self._wrapped(self.model, x)
        self._schedule_built = True
        return y

    def _infer(self, batch):
        # A replayed schedule may reuse its output array on the next call.
        return super(StaticGraphChainerBackend, self)._infer(batch).copy()

    def describe(self):
        info = super(StaticGraphChainerBackend, self).describe()
        info['static_graph'] = True
        return info


def check(model, cache_dir=None, device='gpu'):
    """Relative L2 of static-graph vs eager logits for inputs 0, 1, 2, then 0 again."""
    from trt_classifier.backends import create_backend
    eager = create_backend('chainer', model, device=device, cache_dir=cache_dir).load()
    static = StaticGraphChainerBackend(model, device=device, cache_dir=cache_dir).load()
    try:
        errors = []
        for seed in (0, 1, 2, 0):  # new inputs must reach the replayed schedule
            batch = numpy.random.RandomState(seed).standard_normal(
                (1, 3, 224, 224)).astype(numpy.float32)
            errors.append(relative_l2(static.infer(static.xp.asarray(batch)),
                                      eager.infer(batch)))
        return errors
    finally:
        static.close()
        eager.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', default='squeezenet1_1,resnet101')
    parser.add_argument('--cache-dir', default=None)
    parser.add_argument('--device', default='gpu')
    args = parser.parse_args(argv)
    summary = {model: check(model, args.cache_dir, args.device)
               for model in args.models.split(',')}
    ok = all(error < TOLERANCE for errors in summary.values() for error in errors)
    print(json.dumps({'ok': ok, 'tolerance': TOLERANCE, 'relative_l2': summary}))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
