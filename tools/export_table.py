# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Print export time, ONNX size and Chainer vs ONNX Runtime CPU latency/agreement per model.

Usage: ``python tools/export_table.py [model ...]``. Exports into a fresh temporary cache, so the
times include building the Chainer model. Latency: warm-up 1 + 20, batch 1, random weights,
the ``chelsea`` sample photo preprocessed per the model table.
"""

import os
import sys
import tempfile
import time

from trt_classifier import artefacts, models
from trt_classifier.agreement import relative_l2
from trt_classifier.backends import create_backend
from trt_classifier.frames import read_rgb, samples_dir
from trt_classifier.preprocess import Preprocessor
from trt_classifier.stats import summarize

RUNS = 20


def latency(backend, batch):
    backend.infer(batch)
    samples = []
    for _ in range(RUNS):
        backend.infer(batch)
        samples.append(backend.last_inference_ms)
    return summarize(samples)['mean_ms']


def main(argv):
    names = argv or sorted(models.MODELS)
    cache = tempfile.mkdtemp(prefix='export-table-')
    photo = read_rgb(os.path.join(samples_dir(), 'chelsea.jpg'))
    print('| model | export s | ONNX MB | Chainer CPU ms | ONNX Runtime CPU ms | speed-up | '
          'relative L2 |')
    print('|---|---:|---:|---:|---:|---:|---:|')
    for name in names:
        start = time.perf_counter()
        path = artefacts.onnx_export(artefacts.resolve_weights(name, 'random', cache)).path
        export_s = time.perf_counter() - start
        batch = Preprocessor.for_model(models.get_spec(name))(photo)
        with create_backend('chainer', name, cache_dir=cache) as chainer, \
                create_backend('onnxruntime', name, cache_dir=cache) as ort:
            l2 = relative_l2(ort.infer(batch), chainer.infer(batch))
            chainer_ms, ort_ms = latency(chainer, batch), latency(ort, batch)
        print('| %s | %.1f | %.1f | %.1f | %.1f | %.1fx | %.1e |' % (
            name, export_s, os.path.getsize(path) / 1e6, chainer_ms, ort_ms,
            chainer_ms / ort_ms, l2))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
