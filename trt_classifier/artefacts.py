# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""The artefact pipeline: weights -> Chainer model -> ONNX -> fp16 ONNX -> TensorRT engine.

Each step is a small function that takes the artefact before it and returns the next one, in
the style of Polygraphy's loaders. An artefact carries the digest that identifies it, computed
once, and that digest keys the step after it::

    weights = resolve_weights(model, 'pretrained', cache_dir)  # Weights: .npz, identity
    chain = chainer_model(weights)                             # chainer.Chain (not cached)
    onnx = onnx_export(weights, input_size=224)                # OnnxFile: path, sha256 (cached)
    onnx = onnx_fp16(onnx)                                     # OnnxFile (cached; TensorRT-RTX)
    # the engine: backends/tensorrt_backend.py (engine_on_gpu, build_engine; cached)

The chainer backend takes the first two steps, onnxruntime the first and third, tensorrt all of
them (its engine step lives with it, the one module that imports TensorRT); the CLI's
``export`` and ``build-engine``, the bench and tools go through the same functions. A user's
ONNX file enters as the OnnxFile it is, identified by its own digest (models/user.py).

Every cached step (the EfficientNet-Lite0 weight conversion too) goes through
:func:`cache.cached_file`: a file in the private cache that matches its digest sidecar
(cache.verify: also its owner and mode) is used as it is; anything else is made again, with a
log line saying why, and written atomically with its digest.
"""

import gc
import logging
import os
import time

from trt_classifier import cache, export, fp16_onnx, models, resources
from trt_classifier.cache import cached_file
from trt_classifier.errors import ClassifierError


_log = logging.getLogger(__name__)


class Weights(object):
    """A model's weights, resolved: what every later artefact is made from.

    ``spec`` the model's ModelSpec; ``path`` the Chainer ``.npz`` (None: seeded random weights,
    or the weights inside a user's ONNX file); ``identity`` what caches are keyed on:
    ``random-seed0`` or the npz's SHA-256 prefix (a user's class adds its code's digest, a
    user's ONNX file is its own digest); ``cache_dir`` as given (None: the default).
    """

    def __init__(self, model, request, spec, path, identity, cache_dir):
        self.model, self.request, self.spec = model, request, spec
        self.path, self.identity, self.cache_dir = path, identity, cache_dir


class OnnxFile(object):
    """An ONNX file and the SHA-256 of its content (what engine cache keys hold)."""

    def __init__(self, path, sha256):
        self.path, self.sha256 = path, sha256

    def __repr__(self):
        return 'OnnxFile(%r, %s)' % (self.path, self.sha256[:12])


def resolve_weights(model, weights='random', cache_dir=None):
    """Step 1: ``weights`` (random, pretrained, auto or an ``.npz`` path) -> :class:`Weights`.

    A path is checked (models.check_weights_file: pickle-free, bounded) and hashed, once.
    ``pretrained`` converts the model's published weights into the cache on first use (its
    digest is the one that verified the cached file).
    """
    spec = models.get_spec(model)
    if spec.kind == 'onnx':  # the file holds its weights: its digest is the identity
        return Weights(model, weights, spec, None, spec.sha256[:16], cache_dir)
    if weights in ('random', 'auto') and spec.kind == 'chainer':
        weights = 'random'
    if weights == 'random':
        path, identity = None, 'random-seed%d' % models.RANDOM_SEED
    else:
        path, sha = _weights_file(spec, model, weights, cache_dir)
        identity = sha[:16]
    if spec.kind == 'chainer':  # the class's code is part of what an export was made from
        identity = '%s-code%s' % (identity, spec.sha256[:8])
    return Weights(model, weights, spec, path, identity, cache_dir)


def _weights_file(spec, model, weights, cache_dir):
    """``(path, sha256)`` of a weights file: converted pretrained weights or the user's."""
    if weights == 'pretrained':
        fn = spec.pretrained_fn()
        if fn is None:
            raise ClassifierError(
                'model %s has no pretrained weights on this machine (source: %s); use '
                'weights:=random for benchmarking or weights:=PATH to a Chainer .npz' % (
                    model, spec.weights_source))
        return fn(cache_dir)  # cached: the digest that verified it
    path = os.path.expanduser(weights)
    if not os.path.lexists(path):
        raise ClassifierError(
            'weights file %s does not exist (weights must be random, pretrained or a path '
            'to a Chainer .npz)' % path)
    models.check_weights_file(model, path)
    return path, cache.file_sha256(path)


def chainer_model(weights):
    """Step 2: :class:`Weights` -> the ``chainer.Chain`` holding them (built, not cached)."""
    chain = weights.spec.build()
    chain.cleargrads()  # parameters created with an array still get a gradient: drop it
    if weights.path is not None:
        models.load_npz(chain, weights.path, weights.model)
    return chain


def onnx_cache_path(cache_dir, stem, weights_identity, opset, input_size):
    """``<cache>/onnx/<model>-<weights identity>-op<opset>-<size>-v<export format>.onnx``."""
    name = '%s-%s-op%d-%d-v%d.onnx' % (stem, weights_identity, opset, input_size,
                                       export.EXPORT_FORMAT)
    return os.path.join(cache_dir, 'onnx', name)


def onnx_export(weights, input_size=224, opset=export.DEFAULT_OPSET, log=None, steps=None):
    """Step 3: :class:`Weights` -> the :class:`OnnxFile` exported from them, cached.

    The cache key holds the model, the weights' identity, the opset and the input size, so
    changed weights give a new export. When it exports, the peak RSS and seconds go into
    ``steps`` (a dict) as ``export_peak_rss_mb`` and ``export_s``. A user's ONNX file is used
    where it is.
    """
    spec = weights.spec
    if spec.kind == 'onnx':
        return OnnxFile(spec.path, spec.sha256)
    log = log or _log
    cache_dir = cache.usable_cache_dir(weights.cache_dir, log)
    path = onnx_cache_path(cache_dir, spec.file_stem, weights.identity, opset, input_size)

    def make(path):
        with resources.StepPeak() as step:
            chain = chainer_model(weights)
            skeleton, arrays = export.export_skeleton(chain, input_size, opset)
            del chain  # ``arrays`` keeps the weights, once
            export.check_skeleton(skeleton)
            sha = cache.write_chunks_with_digest(path, export.onnx_chunks(skeleton, arrays))
            del skeleton, arrays
            gc.collect()  # Chainer's links and variables hold reference cycles
        if steps is not None:
            steps.update(export_peak_rss_mb=round(step.peak_mb, 1),
                         export_s=round(step.seconds, 2))
        log.info('exported %s in %.1f s: %s (%.1f MB), peak RSS %.0f MB' % (
            weights.model, step.seconds, path, os.path.getsize(path) / 1e6, step.peak_mb))
        return sha

    return OnnxFile(path, cached_file(
        path, 'exporting %s to ONNX (opset %d)' % (weights.model, opset), make, log))


def fp16_onnx_path(onnx, out_dir=None):
    """``<dir>/<stem>-fp16-<first 12 hex of the fp32 sha256>.onnx``, beside the fp32 file.

    ``out_dir``: somewhere else (a user's own ONNX file: the cache, never the user's folder).
    """
    stem = os.path.splitext(os.path.basename(onnx.path))[0]
    return os.path.join(out_dir or os.path.dirname(onnx.path),
                        '%s-fp16-%s.onnx' % (stem, onnx.sha256[:12]))


def onnx_fp16(onnx, log=None, out_dir=None):
    """Step 4: an fp32 :class:`OnnxFile` -> its fp16 copy (I/O kept fp32), cached.

    For strongly typed runtimes (TensorRT-RTX), which take each tensor's precision from the
    model: see trt_classifier.fp16_onnx.
    """
    log = log or _log
    path = fp16_onnx_path(onnx, out_dir)

    def make(path):
        import onnx as onnx_module
        start = time.perf_counter()
        data = fp16_onnx.convert(onnx_module.load(onnx.path)).SerializeToString()
        sha = cache.write_with_digest(path, data)
        log.info('converted to fp16 in %.1f s: %s (%.1f MB)' % (
            time.perf_counter() - start, path, len(data) / 1e6))
        return sha

    return OnnxFile(path, cached_file(
        path, 'converting %s to fp16 (%s)' % (os.path.basename(onnx.path), fp16_onnx.CONVERTER),
        make, log))
