# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""ONNX Runtime on the same ONNX export that TensorRT consumes (CPU, or CUDA/TensorRT EPs)."""

import numpy

from trt_classifier.backends.base import Backend
from trt_classifier.errors import BackendUnavailable
from trt_classifier.export import DEFAULT_OPSET, ensure_onnx, INPUT_NAME, OUTPUT_NAME
from trt_classifier.models import weights_id


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
        self.onnx_path, self.onnx_sha = ensure_onnx(
            self.model_name, self.weights, self.cache_dir, DEFAULT_OPSET,
            int(self.options.get('input_size', 224)), self.log, self.steps)
        self.weights_identity = weights_id(self.model_name, self.weights, self.cache_dir)[1]
        providers = choose_providers(self.device_kind, self.device_id,
                                     onnxruntime.get_available_providers(),
                                     bool(self.options.get('ort_tensorrt', False)))
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = int(self.options.get('threads', 0))
        opts.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        if self.options.get('profile_prefix'):
            opts.enable_profiling = True
            opts.profile_file_prefix = self.options['profile_prefix']
        self.session = onnxruntime.InferenceSession(self.onnx_path, opts, providers=providers)

    def _infer(self, batch):
        if not isinstance(batch, numpy.ndarray):
            batch = batch.get()  # CuPy array from GPU preprocessing
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0]

    def _close(self):
        self.session = None
