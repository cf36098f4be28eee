# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""ONNX Runtime on the same ONNX export that TensorRT consumes (CPU, or CUDA/TensorRT EPs)."""

import numpy

from trt_classifier import artefacts
from trt_classifier.backends.base import Backend
from trt_classifier.errors import BackendUnavailable


def choose_providers(device_kind, device_id, available, use_tensorrt=False):
    """Return execution providers for ``device_kind``; raise naming what is offered."""
    if device_kind == 'cpu':
        return ['CPUExecutionProvider']
    wanted = ['TensorrtExecutionProvider'] if use_tensorrt else []
    wanted.append('CUDAExecutionProvider')
    missing = [p for p in wanted if p not in available]
    if missing:
        raise BackendUnavailable(
            'device:=gpu with backend onnxruntime needs %s, but this onnxruntime offers only %s '
            '(pip install onnxruntime-gpu, or use device:=cpu)' % (
                ' and '.join(missing), ', '.join(available)))
    return [(p, {'device_id': device_id}) for p in wanted] + ['CPUExecutionProvider']


class OnnxRuntimeBackend(Backend):
    """Options: ``threads`` (intra-op threads, 0 = ONNX Runtime's default), ``ort_tensorrt``."""

    name = 'onnxruntime'

    def _load(self):
        import onnxruntime
        weights = artefacts.resolve_weights(self.model_name, self.weights, self.cache_dir)
        self.weights_identity = weights.identity
        self.onnx = artefacts.onnx_export(weights, int(self.options.get('input_size', 224)),
                                          log=self.log, steps=self.steps)
        spec = weights.spec  # tensors by the file's own names, its layout and type
        self.input_name, self.output_name = spec.input_name, spec.output_name
        self.nhwc = spec.layout == 'NHWC'
        self.input_dtype = numpy.dtype(spec.input_dtype)
        providers = choose_providers(self.device_kind, self.device_id,
                                     onnxruntime.get_available_providers(),
                                     bool(self.options.get('ort_tensorrt', False)))
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = int(self.options.get('threads', 0))
        opts.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self.options.get('profile_prefix'):
            opts.enable_profiling = True
            opts.profile_file_prefix = self.options['profile_prefix']
        self.session = onnxruntime.InferenceSession(self.onnx.path, opts, providers=providers)

    def _infer(self, batch):
        if not isinstance(batch, numpy.ndarray):
            batch = batch.get()  # CuPy array from GPU preprocessing
        if self.nhwc:
            batch = batch.transpose(0, 2, 3, 1)
        batch = numpy.ascontiguousarray(batch, dtype=self.input_dtype)
        out = self.session.run([self.output_name], {self.input_name: batch})[0]
        return out.reshape(out.shape[0], -1)  # (1, N, 1, 1) -> (1, N)

    def _close(self):
        self.session = None
