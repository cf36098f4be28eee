# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""How closely two backends' logits agree on the same inputs: relative L2 and top-1.

Used by the backend agreement tests, the GPU and TensorRT tests and tools/export_table.py. (The
benchmark report's ``top1_agreement_vs_chainer`` is another measure: the share of frames whose
published class matches Chainer's, ``report.top1_agreement``.) Tolerances
(relative L2 of the logits against the Chainer reference, same weights, same input):

* ``fp32``: ONNX Runtime vs Chainer, both fp32 on the CPU: < 1e-4.
* ``tensorrt_fp32``: TensorRT fp32 vs Chainer: < 1e-3 (TF32 and kernel choice allowed).
* ``fp16``: no relative L2 bound; the test is the same top-1 on real photos
  (``FP16_CRITERION``), hence ``None`` here.
"""

import numpy

TOLERANCES = {
    'fp32': 1e-4,
    'tensorrt_fp32': 1e-3,
    'fp16': None,
}
FP16_CRITERION = 'same top-1 class as the fp32 reference on real photos'


def relative_l2(a, b):
    """Return ``||a - b|| / ||b||`` in float64, with ``b`` the reference.

    A zero reference gives 0.0 when ``a`` is zero too, else ``inf``. Shapes must match.
    """
    a = numpy.asarray(a, dtype=numpy.float64)
    b = numpy.asarray(b, dtype=numpy.float64)
    if a.shape != b.shape:
        raise ValueError('shapes differ: %s vs reference %s' % (a.shape, b.shape))
    diff = float(numpy.linalg.norm(a - b))
    ref = float(numpy.linalg.norm(b))
    if ref == 0.0:
        return 0.0 if diff == 0.0 else float('inf')
    return diff / ref


def _run(backend, batch):
    """Logits from a backend (has ``infer``) or any callable batch -> logits."""
    infer = getattr(backend, 'infer', backend)
    return numpy.asarray(infer(batch))


def compare_backends(reference, candidate, batches):
    """Run every batch through both; return how far ``candidate`` is from ``reference``.

    ``reference`` and ``candidate`` are loaded backends (anything with ``infer(batch)``) or
    plain callables; ``batches`` is an iterable of float32 ``(N, 3, H, W)`` arrays.

    Returns a dict: ``relative_l2`` (one value per batch), ``max_relative_l2``, ``top1_agree``
    (rows whose arg-max class matches), ``rows`` (rows compared) and ``top1_share``
    (``top1_agree / rows``; NaN when no rows).
    """
    errors = []
    agree = 0
    rows = 0
    for batch in batches:
        expected = _run(reference, batch)
        got = _run(candidate, batch)
        errors.append(relative_l2(got, expected))
        expected2 = expected.reshape(expected.shape[0], -1)
        got2 = got.reshape(got.shape[0], -1)
        agree += int(numpy.sum(expected2.argmax(axis=1) == got2.argmax(axis=1)))
        rows += expected2.shape[0]
    return {
        'relative_l2': errors,
        'max_relative_l2': max(errors) if errors else float('nan'),
        'top1_agree': agree,
        'rows': rows,
        'top1_share': agree / float(rows) if rows else float('nan'),
    }
