# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Export a Chainer model to ONNX with the ``onnx_chainer`` bundled in Chainer 7.8.1, cached.

The graph has one input ``input`` (1, 3, S, S) float32 and one output ``logits`` (1, 1000).
The batch is fixed at 1: onnx_chainer bakes the export batch into the Reshape before each
fully connected layer (F.linear reshapes to (N, -1)), a robot classifies one frame at a time, and a
static shape is what TensorRT builds fastest without optimisation profiles (docs/TENSORRT.md §6).
"""

import logging
import os
import time

from trt_classifier import cache
from trt_classifier.errors import ClassifierError

DEFAULT_OPSET = 11  # onnx_chainer's maximum; inside TensorRT 8.0-10.x's documented range
INPUT_NAME = 'input'
OUTPUT_NAME = 'logits'
EXPORT_FORMAT = 1  # bump when the export procedure changes, to invalidate old cache entries


def onnx_cache_path(cache_dir, model, weights_identity, opset, input_size):
    name = '%s-%s-op%d-%d-v%d.onnx' % (model, weights_identity, opset, input_size, EXPORT_FORMAT)
    return os.path.join(cache_dir, 'onnx', name)


def clean_graph(model_proto):
    """Drop initializers from ``graph.input``, refuse Dropout, then run ``onnx.checker``.

    onnx_chainer lists every weight as a graph input too, which stops ONNX Runtime from
    constant folding.
    """
    import onnx
    graph = model_proto.graph
    initializers = {init.name for init in graph.initializer}
    data_inputs = [vi for vi in graph.input if vi.name not in initializers]
    del graph.input[:]
    graph.input.extend(data_inputs)
    dropout = [node.name for node in graph.node if node.op_type == 'Dropout']
    if dropout:
        raise ClassifierError('exported graph still contains Dropout nodes %s' % dropout)
    onnx.checker.check_model(model_proto)
    return model_proto


def export_model(chain, input_size=224, opset=DEFAULT_OPSET):
    """Return the cleaned ``onnx.ModelProto`` of ``chain`` for a (1, 3, S, S) input."""
    import numpy
    from trt_classifier.compat import import_chainer
    chainer = import_chainer()
    import onnx_chainer
    x = numpy.zeros((1, 3, input_size, input_size), dtype=numpy.float32)
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        proto = onnx_chainer.export(chain, x, opset_version=opset, input_names=[INPUT_NAME],
                                    output_names=[OUTPUT_NAME], train=False)
    return clean_graph(proto)


def ensure_onnx(model, weights='random', cache_dir=None, opset=DEFAULT_OPSET, input_size=224,
                log=None):
    """Return ``(onnx_path, sha256)`` for ``model`` with ``weights``, exporting on a cache miss.

    The cache key holds the model, the weights' content hash, the opset and the input size, so a
    changed weights file gives a new export. A cached file whose checksum does not match
    (truncated, corrupted) is exported again, with a log line saying why.
    """
    from trt_classifier.models import load_model, weights_id
    log = log or logging.getLogger(__name__)
    cache_dir = cache.usable_cache_dir(cache_dir, log)
    _path, identity = weights_id(model, weights, cache_dir)
    path = onnx_cache_path(cache_dir, model, identity, opset, input_size)
    reason = cache.verify_reason(path)
    if not reason:
        return path, cache.file_sha256(path)
    log.info('exporting %s to ONNX (opset %d): %s' % (model, opset, reason))
    start = time.perf_counter()
    chain, _identity = load_model(model, weights, cache_dir)
    data = export_model(chain, input_size, opset).SerializeToString()
    cache.write_with_digest(path, data)
    log.info('exported %s in %.1f s: %s (%.1f MB)' % (
        model, time.perf_counter() - start, path, len(data) / 1e6))
    return path, cache.file_sha256(path)
