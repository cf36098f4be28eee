# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Chainer: the eager baseline, on NumPy (CPU) or CuPy (GPU)."""

from trt_classifier import artefacts
from trt_classifier.backends.base import Backend
from trt_classifier.compat import import_chainer
from trt_classifier.errors import BackendUnavailable

USE_CUDNN_VALUES = ('always', 'auto', 'never')


class ChainerBackend(Backend):
    """Options: ``use_cudnn`` ('auto' | 'always' | 'never'), ``autotune`` (bool).

    (Chainer's experimental static subgraph optimisation is tools/chainer_static_graph.py's.)
    """

    name = 'chainer'

    def _load(self):
        self.chainer = import_chainer()
        weights = artefacts.resolve_weights(self.model_name, self.weights, self.cache_dir)
        self.weights_identity = weights.identity
        self.model = artefacts.chainer_model(weights)
        self.xp = __import__('numpy')
        if self.device_kind == 'gpu':
            try:
                import cupy
            except ImportError as exc:
                raise BackendUnavailable(
                    'device:=%s with backend chainer needs CuPy (%s): pip install cupy-cudaXXx '
                    'matching your CUDA, or build it on Jetson' % (self.device, exc)) from exc
            self.xp = cupy
            self.model.to_device('@cupy:%d' % self.device_id)
            self.chainer.config.autotune = bool(self.options.get('autotune', False))
        self.use_cudnn = self.options.get('use_cudnn', 'auto')

    def _forward(self, x):
        return self.model.forward(x)

    def _infer(self, batch):
        chainer = self.chainer
        with chainer.using_config('train', False), chainer.no_backprop_mode(), \
                chainer.using_config('use_cudnn', self.use_cudnn):
            if self.device_kind == 'gpu':
                with self.xp.cuda.Device(self.device_id):
                    y = self._forward(self.xp.asarray(batch))
                    # to_cpu waits for the kernels: the clock stops after the GPU has finished.
                    return chainer.backends.cuda.to_cpu(y.array).reshape(len(y), -1)
            y = self._forward(batch).array
            return y.reshape(len(y), -1)  # a user's network may return (1, N, 1, 1)

    def _close(self):
        self.model = None
