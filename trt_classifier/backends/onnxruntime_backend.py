# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""ONNX Runtime on the same ONNX export that TensorRT consumes (CPU, or CUDA/TensorRT EPs).

Its per-layer profiler is ONNX Runtime's own (:meth:`OnnxRuntimeBackend.record_layers`);
``onnxruntime_layers`` turns the trace and the optimised graph into normalised layers.
"""

import json
import os
import shutil
import tempfile

import numpy

from trt_classifier import artefacts
from trt_classifier.backends import onnxruntime_layers
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
        self.providers = choose_providers(self.device_kind, self.device_id,
                                          onnxruntime.get_available_providers(),
                                          bool(self.options.get('ort_tensorrt', False)))
        self.session = self._session()

    def _session(self, **options):
        """Return a session on the export with this backend's providers, ``options`` set on top."""
        import onnxruntime
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = int(self.options.get('threads', 0))
        opts.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        config = options.pop('config', {})
        for key, value in options.items():
            setattr(opts, key, value)
        for key, value in config.items():
            opts.add_session_config_entry(key, value)
        return onnxruntime.InferenceSession(self.onnx.path, opts, providers=self.providers)

    def _infer(self, batch):
        if not isinstance(batch, numpy.ndarray):
            batch = batch.get()  # CuPy array from GPU preprocessing
        if self.nhwc:
            batch = batch.transpose(0, 2, 3, 1)
        batch = numpy.ascontiguousarray(batch, dtype=self.input_dtype)
        out = self.session.run([self.output_name], {self.input_name: batch})[0]
        return out.reshape(out.shape[0], -1)  # (1, N, 1, 1) -> (1, N)

    def record_layers(self, batch, runs):
        """1 warm-up and ``runs`` runs under ONNX Runtime's profiler, then ``runs`` plain ones.

        Returns ``{'events': the profiler's trace, 'original', 'optimized' (graph summaries or
        None), 'unprofiled_ms', 'providers', 'timing'}``. The profiled session replaces this
        backend's session (profiling can only be switched on when a session is created); the
        unprofiled runs follow its ``end_profiling()``. The trace file is written to a temporary
        directory and removed.
        """
        import onnx
        self.load()
        tmp = tempfile.mkdtemp(prefix='trt_classifier_ort_profile_')
        try:
            self.session = None  # one session in memory at a time
            self.session = self._session(enable_profiling=True,
                                         profile_file_prefix=os.path.join(tmp, 'ort'))
            for _ in range(1 + runs):
                self.infer(batch)
            with open(self.session.end_profiling()) as f:
                events = json.load(f)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        unprofiled = self.unprofiled_ms(batch, runs)
        original = onnxruntime_layers.onnx_graph_summary(onnx.load(self.onnx.path))
        optimized = self._optimized_graph()
        return {'providers': self.session.get_providers(),
                'timing': 'ONNX Runtime profiler (Node kernel_time events)', 'events': events,
                'original': original, 'optimized': optimized, 'unprofiled_ms': unprofiled}

    def _optimized_graph(self):
        """Return the graph this backend's session runs, saved from a second session like it."""
        import onnx
        tmp = tempfile.mkdtemp(prefix='trt_classifier_ort_graph_')
        try:
            path = os.path.join(tmp, 'optimized.onnx')
            self._session(
                log_severity_level=3,  # the NCHWc "hardware specific" serialisation warning
                optimized_model_filepath=path, config={
                    'session.optimized_model_external_initializers_file_name': 'optimized.bin',
                    'session.optimized_model_external_initializers_min_size_in_bytes': '1024'})
            return onnxruntime_layers.onnx_graph_summary(onnx.load(path,
                                                                   load_external_data=False))
        except Exception as exc:  # a provider that cannot serialise its graph: names only then
            self.log.warning('cannot save the optimised ONNX Runtime graph (%s); fused nodes are '
                             'shown without their sources' % exc)
            return None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @staticmethod
    def layers_from_record(raw):
        trace = onnxruntime_layers.parse_ort_trace(raw['events'])
        layers, removed = onnxruntime_layers.ort_layers(trace, raw.get('original'),
                                                        raw.get('optimized'))
        notes = []
        if raw.get('optimized') is None:
            notes.append('optimised graph unavailable: sources not resolved')
        notes.append("wall_ms is the mean profiled model_run (ONNX Runtime's own span); "
                     'wall_unprofiled_ms is session.run from Python after profiling ended.')
        return layers, trace['wall_ms'], {
            'providers': raw.get('providers'), 'removed_nodes': removed,
            'executed_per_run': trace['executed_per_run']}, notes

    def _close(self):
        self.session = None
