# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""TensorRT backend: ONNX -> cached engine -> pycuda buffers; one code path for TensorRT 8.0-10.x.

Written against docs/TENSORRT.md (sections cited inline). Decisions that need no TensorRT
live in ``trt_classifier.trt_utils``; context, buffers and stream in ``cuda_plumbing``.
TensorRT and pycuda are imported in ``_load`` only.
"""

import logging
import os
import threading

from trt_classifier import trt_utils
from trt_classifier.backends.base import Backend
from trt_classifier.cache import usable_cache_dir, verify_reason, write_with_digest
from trt_classifier.cuda_plumbing import CudaBuffers, PrimaryContext
from trt_classifier.errors import ClassifierError
from trt_classifier.trt_utils import INPUT_NAME, OUTPUT_NAME

DEFAULT_WORKSPACE_MB = 1024  # the node's and the CLI's default: one engine cache key for all
ONNX_OPSET = 11  # onnx-chainer's maximum, inside every TensorRT's range (docs/TENSORRT.md §6)
_TRT_LOGGER = []  # one trt.Logger per process: builder and runtime must share it


def _import_runtime():
    """Return ``(tensorrt, pycuda.driver)`` or raise BackendUnavailable with the install hint."""
    from trt_classifier.backends import check_available
    check_available('tensorrt')
    import pycuda.driver as cuda
    import tensorrt as trt
    return trt, cuda


def _trt_logger(trt):
    if not _TRT_LOGGER:
        _TRT_LOGGER.append(trt.Logger(trt.Logger.WARNING))
    return _TRT_LOGGER[0]


def _input_shape(model, size=None):
    from trt_classifier.models import get_spec
    size = int(size or get_spec(model).input_size)
    return (1, 3, size, size)


def _deserialize(runtime, blob):
    try:
        return runtime.deserialize_cuda_engine(blob)
    except Exception:  # some versions raise instead of returning None
        return None


def _read_cached(path):
    """Return ``(bytes, '')`` for a file that matches its digest sidecar, else ``(None, why)``."""
    try:
        reason = verify_reason(path)
        if not reason:
            with open(path, 'rb') as f:
                return f.read(), ''
    except (OSError, ClassifierError) as exc:  # unreadable: rebuild rather than crash
        reason = str(exc)
    return None, reason


def _timing_cache(config, path, log):
    """Attach the per-device timing cache at ``path`` (or a new one); the caller keeps it alive."""
    blob, reason = _read_cached(path)
    if blob is not None:
        try:
            cache = config.create_timing_cache(blob)
            if cache is not None and config.set_timing_cache(cache, False):
                log.info('using timing cache %s' % path)
                return cache
        except Exception as exc:  # a corrupt blob: start again rather than fail the build
            log.warning('timing cache %s unusable (%s)' % (path, exc))
        log.warning('timing cache %s does not match this GPU/TensorRT; starting a new one' % path)
    elif os.path.exists(path):
        log.warning('starting a new timing cache: %s' % reason)
    cache = config.create_timing_cache(b'')
    config.set_timing_cache(cache, False)
    return cache


def _save(path, blob, what, log):
    try:
        write_with_digest(path, blob)
        return path
    except OSError as exc:
        log.warning('cannot write the %s to %s (%s); keeping it in memory for this run' % (
            what, path, exc.strerror or exc))
        return None


def _build(trt, onnx_path, precision, workspace_bytes, shape, timing_path, what, log):
    """Build and return serialized engine bytes (docs/TENSORRT.md section 2)."""
    logger = _trt_logger(trt)
    builder = trt.Builder(logger)
    explicit = getattr(trt.NetworkDefinitionCreationFlag, 'EXPLICIT_BATCH', None)
    network = builder.create_network(trt_utils.network_flags(trt.__version__, explicit))
    parser = trt.OnnxParser(network, logger)
    with open(onnx_path, 'rb') as f:
        if not parser.parse(f.read()):
            raise ClassifierError('TensorRT %s could not parse %s:\n  %s' % (
                trt.__version__, onnx_path, '\n  '.join(trt_utils.format_parser_errors(parser))))
    config = builder.create_builder_config()
    pools = getattr(trt, 'MemoryPoolType', None)
    trt_utils.set_workspace(config, workspace_bytes, getattr(pools, 'WORKSPACE', None))
    if precision == 'fp16':
        config.set_flag(trt.BuilderFlag.FP16)
    elif hasattr(trt.BuilderFlag, 'TF32'):  # TF32 is on by default (Ampere+, e.g. Orin)
        config.clear_flag(trt.BuilderFlag.TF32)  # fp32 means fp32, like the Chainer reference
    if hasattr(trt.ProfilingVerbosity, 'DETAILED'):  # 8.2+; lets the inspector name layer types
        config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    profile = None
    for i in range(network.num_inputs):  # any -1 input needs an optimization profile (section 6)
        tensor = network.get_input(i)
        if trt_utils.is_dynamic(tensor.shape):
            fixed = trt_utils.resolve_shape(tensor.shape, shape, tensor.name)
            profile = profile or builder.create_optimization_profile()
            profile.set_shape(tensor.name, fixed, fixed, fixed)
    if profile is not None:
        config.add_optimization_profile(profile)
    timing_cache = _timing_cache(config, timing_path, log)  # noqa: F841 (alive until built)
    with trt_utils.BuildProgress(log, what) as progress:
        serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ClassifierError('TensorRT %s failed to build an engine for %s (its log above says '
                              'why)' % (trt.__version__, what))
    log.info('built the TensorRT engine for %s in %.0f s' % (what, progress.elapsed))
    _save(timing_path, bytes(config.get_timing_cache().serialize()), 'timing cache', log)
    return bytes(serialized)


def _load_engine(trt, runtime, ctx, model, weights, requested, workspace_bytes, shape,
                 cache_dir, log):
    """Return ``(engine, path or None, precision)``: the verified cached engine or a new one."""
    from trt_classifier.export import ensure_onnx
    onnx_path, onnx_sha = ensure_onnx(model, weights=weights, cache_dir=cache_dir,
                                      opset=ONNX_OPSET, input_size=shape[-1], log=log)
    fast_fp16 = True
    if trt_utils.normalise_precision(requested) == 'fp16':
        fast_fp16 = trt.Builder(_trt_logger(trt)).platform_has_fast_fp16
    precision, warning = trt_utils.choose_precision(requested, fast_fp16)
    if warning:
        log.warning(warning)
    device, cc = ctx.device_name(), ctx.compute_capability()
    key = trt_utils.engine_cache_key(onnx_sha, trt.__version__, device, cc, precision,
                                     workspace_bytes, shape)
    engine_dir = os.path.join(cache_dir, 'engines')
    path = os.path.join(engine_dir, trt_utils.engine_filename(model, precision, key))
    blob, reason = _read_cached(path)
    if blob is not None:
        engine = _deserialize(runtime, blob)
        if engine is not None:
            log.info('loaded cached TensorRT engine %s' % path)
            return engine, path, precision
        reason = ('TensorRT %s could not deserialize %s (built by another TensorRT or GPU? its '
                  'log above says)' % (trt.__version__, path))
    what = '%s (%s, TensorRT %s, %s)' % (model, precision, trt.__version__, device)
    log.info('building TensorRT engine for %s: %s' % (what, reason))
    timing_name = trt_utils.timing_cache_name(trt.__version__, device, cc)
    timing_path = os.path.join(engine_dir, timing_name)
    blob = _build(trt, onnx_path, precision, workspace_bytes, shape, timing_path, what, log)
    path = _save(path, blob, 'engine', log)
    engine = _deserialize(runtime, blob)
    if engine is None:
        raise ClassifierError('TensorRT %s could not deserialize the engine it just built for %s'
                              % (trt.__version__, what))
    return engine, path, precision


class TensorRTBackend(Backend):
    """Options: ``workspace_mb`` (default 1024), ``input_size`` (default: the model's).

    ``infer`` takes a NumPy or CuPy (same GPU) float32 batch of shape (1, 3, size, size).
    """

    name = 'tensorrt'
    precisions = None  # fp32/fp16, validated by trt_utils.normalise_precision
    engine_path = None
    _trt = _ctx = _runtime = _engine = _context = _buffers = None

    def _load(self):
        trt, cuda = _import_runtime()
        trt_utils.normalise_precision(self.precision)  # fail before touching the GPU
        if self.device_kind != 'gpu':
            self.log.warning('the tensorrt backend runs on the GPU; using gpu:%d' % self.device_id)
            self.device_kind = 'gpu'
        from trt_classifier.models import weights_id
        cache_dir = usable_cache_dir(self.cache_dir, self.log)
        self.weights_identity = weights_id(self.model_name, self.weights, cache_dir)[1]
        workspace = trt_utils.workspace_bytes(
            self.options.get('workspace_mb', DEFAULT_WORKSPACE_MB))
        shape = _input_shape(self.model_name, self.options.get('input_size'))
        self._trt = trt
        self._lock = threading.Lock()
        self._ctx = PrimaryContext(cuda, self.device_id)
        try:
            with self._ctx.pushed():
                self._runtime = trt.Runtime(_trt_logger(trt))
                self._engine, self.engine_path, self.precision = _load_engine(
                    trt, self._runtime, self._ctx, self.model_name, self.weights, self.precision,
                    workspace, shape, cache_dir, self.log)
                self._prepare(cuda, shape)
        except BaseException:
            self._close()
            raise

    def _prepare(self, cuda, shape):
        """Create the execution context and buffers (once); bind tensor addresses by name."""
        self._named = trt_utils.api_generation(self._engine) == 'named'
        mode = self._trt.TensorIOMode.INPUT if self._named else None
        self._io = trt_utils.engine_io(self._engine, mode)
        trt_utils.check_io_names(self._io)
        self._input_shape = trt_utils.resolve_shape(self._io[INPUT_NAME]['shape'], shape)
        self._context = self._new_context()
        specs = {INPUT_NAME: (self._input_shape, self._io[INPUT_NAME]['dtype']),
                 OUTPUT_NAME: (self._output_shape(self._context), self._io[OUTPUT_NAME]['dtype'])}
        self._buffers = CudaBuffers(cuda, specs)
        self._bindings = trt_utils.bindings_list(self._io, self._buffers.pointers())
        self._bind(self._context)

    def _new_context(self):
        """Create an execution context with every dynamic input's shape set (section 3)."""
        context = self._engine.create_execution_context()
        if context is None:
            raise ClassifierError('TensorRT could not create an execution context (GPU memory?)')
        if trt_utils.is_dynamic(self._io[INPUT_NAME]['shape']):
            if self._named:
                context.set_input_shape(INPUT_NAME, self._input_shape)
            else:
                context.set_binding_shape(self._io[INPUT_NAME]['index'], self._input_shape)
        return context

    def _output_shape(self, context):
        if self._named:
            shape = tuple(context.get_tensor_shape(OUTPUT_NAME))
        else:
            shape = tuple(context.get_binding_shape(self._io[OUTPUT_NAME]['index']))
        if trt_utils.is_dynamic(shape):
            raise ClassifierError('output %s has unresolved shape %s' % (OUTPUT_NAME, shape))
        return shape

    def _bind(self, context):
        if self._named:
            for name, pointer in self._buffers.pointers().items():
                context.set_tensor_address(name, pointer)

    def _infer(self, batch):
        with self._lock, self._ctx.pushed():
            buffers = self._buffers
            buffers.upload(INPUT_NAME, batch)
            if self._named:
                ok = self._context.execute_async_v3(buffers.handle)
            else:
                ok = self._context.execute_async_v2(self._bindings, buffers.handle)
            logits = buffers.download(OUTPUT_NAME)
            buffers.synchronize()  # the base class's timer then includes GPU completion
            logits = logits.copy()
        if ok is False:
            raise ClassifierError('TensorRT execution failed (its log above says why)')
        return logits

    def profile(self, runs=10):
        """Per-layer mean times from a separate synchronous ``execute_v2`` run (section 4).

        Returns ``{'runs', 'layers': [{'name', 'mean_ms', 'reports', 'share'}], 'total_ms',
        'inspector': [{'name', 'type', 'tactic'}] or None}``.
        """
        runs = int(runs)
        if runs < 1:
            raise ClassifierError('runs must be >= 1, not %r' % (runs,))
        self.load()
        trt = self._trt
        records = []

        class _LayerTimes(trt.IProfiler):

            def __init__(self):
                trt.IProfiler.__init__(self)

            def report_layer_time(self, layer_name, ms):
                records.append((layer_name, ms))

        profiler = _LayerTimes()
        with self._lock, self._ctx.pushed():
            context = self._new_context()
            try:
                self._bind(context)
                context.execute_v2(self._bindings)  # warm-up, not recorded
                context.profiler = profiler
                for _ in range(runs):
                    context.execute_v2(self._bindings)
                inspector = self._inspect(context)
            finally:
                context = None
        result = trt_utils.parse_profile_records(records, runs)
        result.update(runs=runs, inspector=inspector)
        return result

    def _inspect(self, context):
        if not hasattr(self._engine, 'create_engine_inspector'):  # TensorRT 8.0
            return None
        inspector = self._engine.create_engine_inspector()
        inspector.execution_context = context
        text = inspector.get_engine_information(self._trt.LayerInformationFormat.JSON)
        try:
            return trt_utils.parse_inspector_json(text)
        except ClassifierError as exc:
            self.log.warning('engine inspector: %s' % exc)
            return None

    def describe(self):
        info = super().describe()
        info.update(engine=self.engine_path,
                    tensorrt=getattr(self._trt, '__version__', None))
        return info

    def _close(self):
        """Free buffers, stream, context and engine with the context pushed (section 5)."""
        if self._ctx is None:
            return
        with self._ctx.pushed():
            if self._buffers is not None:
                self._buffers.free()
            self._buffers = None
            self._context = None
            self._engine = None
            self._runtime = None
        self._ctx.release()
        self._ctx = None


def build_engine(model, weights='random', precision='fp32', workspace_mb=DEFAULT_WORKSPACE_MB,
                 cache_dir=None, log=None, device_id=0):
    """Build (or find) the cached engine for ``model``; return its path (``build-engine`` CLI)."""
    log = log or logging.getLogger('trt_classifier.tensorrt')
    trt, cuda = _import_runtime()
    cache_dir = usable_cache_dir(cache_dir, log)
    workspace = trt_utils.workspace_bytes(workspace_mb)
    ctx = PrimaryContext(cuda, device_id)
    try:
        with ctx.pushed():
            runtime = trt.Runtime(_trt_logger(trt))
            engine, path, _precision = _load_engine(
                trt, runtime, ctx, model, weights, precision, workspace, _input_shape(model),
                cache_dir, log)
            del engine, runtime  # freed with the context pushed
    finally:
        ctx.release()
    if path is None:
        raise ClassifierError('the engine for %s was built but could not be saved under %s' % (
            model, os.path.join(cache_dir, 'engines')))
    return path
