# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Chainer: the eager baseline, on NumPy (CPU) or CuPy (GPU)."""

import contextlib
import io

from trt_classifier.backends.base import Backend
from trt_classifier.compat import import_chainer
from trt_classifier.errors import BackendUnavailable
from trt_classifier.models import load_model

USE_CUDNN_VALUES = ('always', 'auto', 'never')


class ChainerBackend(Backend):
    """Options: ``use_cudnn``, ``autotune`` (bool), ``static_graph`` (bool, default False).

    ``use_cudnn`` is 'auto' | 'always' | 'never'.

    ``static_graph`` runs the forward through ``chainer.static_graph`` (Chainer's experimental
    static subgraph optimisation): the first call runs define-by-run and records a schedule of
    the functions' ``forward`` calls; later calls with the same input shape replay that schedule
    without building Variables and the graph. Same kernels, same results (checked to 1e-5
    relative L2 on the GPU); it only removes Python per-function overhead. An experiment
    (benchmarks/h100): it missed the latency targets, so classifier_node does not expose it.
    """

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
        self.static_graph = bool(self.options.get('static_graph', False))
        self._forward = self.model.forward
        self._schedule_built = False
        if self.static_graph:
            from chainer.graph_optimizations.static_graph import static_graph
            wrapped = static_graph(type(self.model).forward)
            model = self.model
            self._forward = lambda x: wrapped(model, x)

    def _run(self, x):
        if self._schedule_built or not self.static_graph:
            return self._forward(x)
        # Chainer 7.8.1 prints 'end of build_schedule()' when it records the schedule.
        with contextlib.redirect_stdout(io.StringIO()):
            y = self._forward(x)
        self._schedule_built = True
        return y

    def _infer(self, batch):
        chainer = self.chainer
        with chainer.using_config('train', False), chainer.no_backprop_mode(), \
                chainer.using_config('use_cudnn', self.use_cudnn):
            if self.device_kind == 'gpu':
                with self.xp.cuda.Device(self.device_id):
                    y = self._run(self.xp.asarray(batch))
                    # to_cpu waits for the kernels: the clock stops after the GPU has finished.
                    return chainer.backends.cuda.to_cpu(y.array).reshape(len(y), -1)
            y = self._run(batch).array
            y = y.reshape(len(y), -1)  # a user's network may return (1, N, 1, 1)
            # A replayed static schedule may reuse its output array on the next call.
            return y.copy() if self.static_graph else y

    def describe(self):
        info = super(ChainerBackend, self).describe()
        info['static_graph'] = bool(self.options.get('static_graph', False))
        return info

    def _close(self):
        self.model = None
        self._forward = None
