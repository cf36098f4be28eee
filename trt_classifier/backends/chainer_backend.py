# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Chainer: the eager baseline, on NumPy (CPU) or CuPy (GPU)."""

from trt_classifier.backends.base import Backend
from trt_classifier.compat import import_chainer
from trt_classifier.errors import BackendUnavailable
from trt_classifier.models import load_model

USE_CUDNN_VALUES = ('always', 'auto', 'never')


class ChainerBackend(Backend):
    """Options: ``use_cudnn`` ('auto' | 'always' | 'never'), ``autotune`` (bool)."""

    name = 'chainer'

    def _load(self):
        self.chainer = import_chainer()
        self.model, self.weights_identity = load_model(
            self.model_name, self.weights, self.cache_dir)
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

    def _infer(self, batch):
        chainer = self.chainer
        with chainer.using_config('train', False), chainer.no_backprop_mode(), \
                chainer.using_config('use_cudnn', self.use_cudnn):
            if self.device_kind == 'gpu':
                with self.xp.cuda.Device(self.device_id):
                    y = self.model.forward(self.xp.asarray(batch))
                    # to_cpu waits for the kernels: the clock stops after the GPU has finished.
                    return chainer.backends.cuda.to_cpu(y.array)
            return self.model.forward(batch).array

    def _close(self):
        self.model = None
