# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""TensorRT backend: ONNX -> cached engine -> pycuda buffers; one code path for TensorRT 8.0-10.x.

The engine is the last step of the artefact pipeline (trt_classifier.artefacts): weights ->
ONNX (:func:`onnx_for_engine`: fp16 ONNX for TensorRT-RTX) -> engine (:func:`engine_on_gpu`,
:func:`build_engine`), each step taking the artefact before it. Written against
docs/TENSORRT.md (sections cited inline). Decisions that need no TensorRT live in
``trt_classifier.trt_utils``; context, buffers and stream in ``cuda_plumbing``.
TensorRT and pycuda are imported in ``_load`` only.

Two runtimes: classic TensorRT (``tensorrt``) and TensorRT-RTX (``tensorrt_rtx``), picked in that
order unless ``tensorrt_runtime`` names one. Building needs no GPU with TensorRT-RTX: an engine
built ahead of time for a list of compute capabilities is keyed by that list, and a node uses a
cached engine whose list holds its GPU's capability, or builds one for it.
"""

import importlib
import logging
import os
import threading

from trt_classifier import artefacts, trt_utils
from trt_classifier.backends.base import Backend
from trt_classifier.cache import load_verified, usable_cache_dir, write_with_digest
from trt_classifier.cuda_plumbing import CudaBuffers, PrimaryContext
from trt_classifier.errors import BackendUnavailable, ClassifierError
from trt_classifier.gpu_probe import probe_gpus
from trt_classifier.schema import DEFAULT_WORKSPACE_MB

_TRT_LOGGER = {}  # one trt.Logger per runtime module and process: builder and runtime share it
INSTALL_HINT = ('classic TensorRT comes with JetPack on a Jetson (on x86: pip install tensorrt '
                "from NVIDIA's index); TensorRT-RTX (RTX GPUs, and building anywhere): "
                'pip install tensorrt-rtx-cu12==1.7.1.116')
PYCUDA_HINT = 'pip install pycuda (it builds against the CUDA toolkit, e.g. nvcc from JetPack)'


def import_trt(choice='auto'):
    """Return the TensorRT module ``choice`` names; ``auto``: classic first, then TensorRT-RTX.

    Raises BackendUnavailable naming the modules tried, why they failed and how to get one.
    """
    choice = trt_utils.normalise_runtime(choice)
    names = list(trt_utils.RUNTIMES) if choice == 'auto' else [choice]
    errors = []
    for name in names:
        try:
            return importlib.import_module(name)
        except Exception as exc:  # ImportError, or a broken install (OSError from a library)
            errors.append('%s: %s' % (name, exc))
    raise BackendUnavailable('backend tensorrt needs the Python module %s, which cannot be '
                             'imported here (%s). To get it: %s' % (
                                 ' or '.join(names), ', '.join(errors), INSTALL_HINT))


def runtime_label(trt):
    """``'TensorRT 8.2.1'`` or ``'TensorRT-RTX 1.7.1'``."""
    return trt_utils.runtime_label(trt_utils.runtime_name(trt), trt.__version__)


def supported_compute_capabilities(trt):
    """Return what TensorRT-RTX builds for and runs on (``['8.6', ...]``); None for classic."""
    enum = getattr(trt, 'ComputeCapability', None)
    return trt_utils.supported_compute_capabilities(enum) if enum is not None else None


def check_runtime(choice='auto', device_id=0):
    """Return the TensorRT module if it can run engines on GPU ``device_id``; else raise.

    One BackendUnavailable line for each way it cannot: no runtime module, no GPU (asked of the
    CUDA driver, before anything else touches it), a compute capability TensorRT-RTX does not
    run, no pycuda.
    """
    trt = import_trt(choice)
    label = runtime_label(trt)
    gpus, reason = probe_gpus()
    if device_id >= len(gpus):
        where = reason or 'GPU %d does not exist (this machine has %d)' % (device_id, len(gpus))
        built = supported_compute_capabilities(trt)
        raise BackendUnavailable('backend tensorrt (%s) cannot run engines here: %s%s' % (
            label, where, '. Engines for compute capability %s can still be built here: '
            'trt-classifier build-engine' % ', '.join(built) if built else ''))
    supported = supported_compute_capabilities(trt)
    if supported:
        name, cc = gpus[device_id]
        unsupported = trt_utils.unsupported_gpu_reason(label, name, cc, supported, device_id)
        if unsupported:
            raise BackendUnavailable('backend tensorrt cannot run here: ' + unsupported)
    try:
        importlib.import_module('pycuda.driver')
    except Exception as exc:  # ImportError, or a broken install
        raise BackendUnavailable('backend tensorrt (%s) needs the Python module pycuda.driver to '
                                 'run engines, which cannot be imported here (%s). To get it: %s'
                                 % (label, exc, PYCUDA_HINT)) from exc
    return trt


def _trt_logger(trt):
    name = trt_utils.runtime_name(trt)
    if name not in _TRT_LOGGER:
        _TRT_LOGGER[name] = trt.Logger(trt.Logger.WARNING)
    return _TRT_LOGGER[name]


def _input_shape(spec, size=None):
    """(1, 3, S, S), or (1, S, S, 3) for a user's NHWC file (square: index 2 is S in both)."""
    size = int(spec.input_size if spec.fixed_size else (size or spec.input_size))
    return (1, size, size, 3) if spec.layout == 'NHWC' else (1, 3, size, size)


def _deserialize(runtime, blob):
    try:
        return runtime.deserialize_cuda_engine(blob)
    except Exception:  # some versions raise instead of returning None
        return None


def onnx_for_engine(trt, weights, precision, shape, cache_dir, log):
    """Return the :class:`artefacts.OnnxFile` to build from: the export, or its fp16 version.

    Strongly typed runtimes (TensorRT-RTX) take the precision from the model's types, so fp16
    builds from a converted copy (artefacts.onnx_fp16); classic TensorRT sets a flag.
    """
    onnx = artefacts.onnx_export(weights, shape[2], log=log)  # (1, 3, S, S) or (1, S, S, 3)
    if precision == 'fp16' and trt_utils.strongly_typed(trt.BuilderFlag):
        onnx = artefacts.onnx_fp16(onnx, log, os.path.join(cache_dir, 'onnx'))
    return onnx


class _Job(object):
    """One engine to find or build: its key and file, its name in logs, its timing cache.

    ``targets`` None: built on and for one GPU (``device``, ``cc``), keyed by both, as classic
    TensorRT does. Otherwise built ahead of time for those compute capabilities (TensorRT-RTX).
    """

    def __init__(self, trt, weights, precision, onnx, workspace, shape, engine_dir, device=None,
                 cc=None, targets=None):
        self.runtime = trt_utils.runtime_name(trt)
        self.version = trt.__version__
        self.label = trt_utils.runtime_label(self.runtime, self.version)
        self.model, self.precision, self.workspace, self.shape = (
            weights.model, precision, workspace, shape)
        self.stem = weights.spec.file_stem  # a user's file: its name, not its whole path
        self.onnx_path, self.onnx_sha = onnx.path, onnx.sha256
        self.engine_dir, self.targets = engine_dir, targets
        if targets is None:
            key = trt_utils.engine_cache_key(self.onnx_sha, self.version, device, cc, precision,
                                             workspace, shape)
            name = trt_utils.engine_filename(self.stem, precision, key)
            where = device
        else:
            name = trt_utils.aot_engine_filename(self.stem, precision, targets,
                                                 self.key_for(targets))
            where = 'compute capability %s' % ', '.join(targets)
        self.path = os.path.join(engine_dir, name)
        self.what = '%s (%s, %s, %s)' % (self.model, precision, self.label, where)
        self.timing_path = None
        if trt_utils.supports_timing_cache(self.runtime) and device is not None:
            self.timing_path = os.path.join(
                engine_dir, trt_utils.timing_cache_name(self.version, device, cc))

    def key_for(self, targets):
        return trt_utils.aot_engine_key(self.onnx_sha, self.runtime, self.version, targets,
                                        self.precision, self.workspace, self.shape)

    def candidates(self, cc):
        """Return the cached files to try on a GPU of compute capability ``cc``, ours first."""
        if self.targets is None:
            return [self.path]
        try:
            names = os.listdir(self.engine_dir)
        except OSError:
            names = []
        found = [os.path.join(self.engine_dir, name) for name in trt_utils.find_aot_engines(
            names, self.stem, self.precision, cc, self.key_for)]
        return [self.path] + [path for path in found if path != self.path]


def _find_cached(paths, runtime, label, log):
    """Return ``(path, engine, '')`` of the first usable cached engine, else ``(None, None, why)``.

    ``runtime`` None (no GPU): the checksum is all that can be verified, and ``engine`` is None.
    """
    reason = 'not cached yet'
    for path in paths:
        blob, why = load_verified(path)
        if blob is None:
            if why != 'not cached yet':
                reason = why
            continue
        if runtime is None:
            log.info('found cached TensorRT engine %s (checksum verified)' % path)
            return path, None, ''
        engine = _deserialize(runtime, blob)
        if engine is not None:
            log.info('loaded cached TensorRT engine %s' % path)
            return path, engine, ''
        reason = ('%s could not deserialize %s (built by another TensorRT or GPU? its log above '
                  'says)' % (label, path))
    return None, None, reason


def _timing_cache(config, path, log):
    """Attach the per-device timing cache at ``path`` (or a new one); the caller keeps it alive."""
    blob, reason = load_verified(path)
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


def _progress_monitor(trt, log):
    """Return an ``IProgressMonitor`` logging build phases (TensorRT 10, RTX), else None."""
    base = getattr(trt, 'IProgressMonitor', None)
    if base is None:
        return None
    phases = trt_utils.BuildPhases(log)

    class _Monitor(base):

        def __init__(self):
            base.__init__(self)

        def phase_start(self, phase_name, parent_phase, num_steps):
            phases.start(phase_name, parent_phase, num_steps)

        def step_complete(self, phase_name, step):
            return True  # go on building

        def phase_finish(self, phase_name):
            pass

    return _Monitor()


def _build(trt, job, log):
    """Build and return the serialized engine (a buffer) for ``job`` (docs/TENSORRT.md §2).

    Needs a CUDA context with classic TensorRT; none with TensorRT-RTX, which builds for
    ``job.targets`` (``num_compute_capabilities`` first, then each one).
    """
    logger = _trt_logger(trt)
    builder = trt.Builder(logger)
    explicit = getattr(trt.NetworkDefinitionCreationFlag, 'EXPLICIT_BATCH', None)
    network = builder.create_network(
        trt_utils.network_flags(job.version, explicit, job.runtime))
    parser = trt.OnnxParser(network, logger)
    with open(job.onnx_path, 'rb') as f:
        if not parser.parse(f.read()):
            raise ClassifierError('%s could not parse %s:\n  %s' % (
                job.label, job.onnx_path,
                '\n  '.join(trt_utils.format_parser_errors(parser))))
    config = builder.create_builder_config()
    pools = getattr(trt, 'MemoryPoolType', None)
    trt_utils.set_workspace(config, job.workspace, getattr(pools, 'WORKSPACE', None))
    if job.precision == 'fp16':
        if not trt_utils.strongly_typed(trt.BuilderFlag):  # else: fp16 from the ONNX's types
            config.set_flag(trt.BuilderFlag.FP16)
    elif hasattr(trt.BuilderFlag, 'TF32'):  # TF32 is on by default (Ampere+, e.g. Orin)
        config.clear_flag(trt.BuilderFlag.TF32)  # fp32 means fp32, like the Chainer reference
    if job.targets is not None:
        config.num_compute_capabilities = len(job.targets)
        for index, cc in enumerate(job.targets):
            config.set_compute_capability(
                getattr(trt.ComputeCapability, trt_utils.cc_enum_name(cc)), index)
    if hasattr(trt.ProfilingVerbosity, 'DETAILED'):  # 8.2+; lets the inspector name layer types
        config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    profile = None
    for i in range(network.num_inputs):  # any -1 input needs an optimization profile (section 6)
        tensor = network.get_input(i)
        if trt_utils.is_dynamic(tensor.shape):
            fixed = trt_utils.resolve_shape(tensor.shape, job.shape, tensor.name)
            profile = profile or builder.create_optimization_profile()
            profile.set_shape(tensor.name, fixed, fixed, fixed)
    if profile is not None:
        config.add_optimization_profile(profile)
    timing_cache = None
    if job.timing_path:
        timing_cache = _timing_cache(config, job.timing_path, log)  # noqa: F841 (kept alive)
    else:
        log.info('%s keeps no timing cache (its timing-cache calls are no-ops): none written'
                 % job.label)
    monitor = _progress_monitor(trt, log)
    if monitor is not None:
        config.progress_monitor = monitor
    with trt_utils.BuildProgress(log, job.what) as progress:
        serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ClassifierError('%s failed to build an engine for %s (its log above says why)' % (
            job.label, job.what))
    log.info('built the TensorRT engine for %s in %.1f s (%.1f MB)' % (
        job.what, progress.elapsed, memoryview(serialized).nbytes / 1e6))
    if job.timing_path:
        _save(job.timing_path, bytes(config.get_timing_cache().serialize()), 'timing cache',
              log)
    return serialized


def engine_on_gpu(trt, runtime, ctx, weights, requested, workspace_bytes, shape, cache_dir,
                  log):
    """Return ``(engine, path or None, precision)`` for the GPU of ``ctx`` (pushed).

    The ONNX step (:func:`onnx_for_engine`), then the engine step: a verified cached engine
    for this GPU, else a new one, built and cached.
    """
    precision = trt_utils.normalise_precision(requested)
    if precision == 'fp16':
        precision, warning = trt_utils.choose_precision(
            requested, trt_utils.fast_fp16(trt.Builder(_trt_logger(trt))))
        if warning:
            log.warning(warning)
    onnx = onnx_for_engine(trt, weights, precision, shape, cache_dir, log)
    device = ctx.device_name()
    cc = trt_utils.format_compute_capability(ctx.compute_capability())
    engine_dir = os.path.join(cache_dir, 'engines')
    if supported_compute_capabilities(trt):  # TensorRT-RTX: any engine whose targets hold cc
        job = _Job(trt, weights, precision, onnx, workspace_bytes, shape, engine_dir,
                   targets=[cc])
    else:
        job = _Job(trt, weights, precision, onnx, workspace_bytes, shape, engine_dir, device, cc)
    path, engine, reason = _find_cached(job.candidates(cc), runtime, job.label, log)
    if engine is not None:
        return engine, path, precision
    log.info('building TensorRT engine for %s: %s' % (job.what, reason))
    blob = _build(trt, job, log)
    path = _save(job.path, blob, 'engine', log)
    engine = _deserialize(runtime, blob)
    if engine is None:
        raise ClassifierError('%s could not deserialize the engine it just built for %s'
                              % (job.label, job.what))
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
        choice = trt_utils.normalise_runtime(self.options.get('tensorrt_runtime', 'auto'))
        trt_utils.normalise_precision(self.precision)  # fail before touching the GPU
        trt = check_runtime(choice, self.device_id)
        import pycuda.driver as cuda
        if self.device_kind != 'gpu':
            self.log.warning('the tensorrt backend runs on the GPU; using gpu:%d' % self.device_id)
            self.device_kind = 'gpu'
        cache_dir = usable_cache_dir(self.cache_dir, self.log)
        weights = artefacts.resolve_weights(self.model_name, self.weights, cache_dir)
        self.weights_identity = weights.identity
        workspace = trt_utils.workspace_bytes(
            self.options.get('workspace_mb', DEFAULT_WORKSPACE_MB))
        shape = _input_shape(weights.spec, self.options.get('input_size'))
        self._trt = trt
        self._lock = threading.Lock()
        self._ctx = PrimaryContext(cuda, self.device_id)
        try:
            with self._ctx.pushed():
                self._runtime = trt.Runtime(_trt_logger(trt))
                self._engine, self.engine_path, self.precision = engine_on_gpu(
                    trt, self._runtime, self._ctx, weights, self.precision, workspace, shape,
                    cache_dir, self.log)
                self._prepare(cuda, weights.spec, shape)
        except BaseException:
            self._close()
            raise

    def _prepare(self, cuda, spec, shape):
        """Create the execution context and buffers (once); bind tensor addresses by name.

        Tensors go by the ONNX file's own names (``spec``: a user's file names its own).
        """
        self._in, self._out, self._nhwc = spec.input_name, spec.output_name, spec.layout == 'NHWC'
        self._named = trt_utils.api_generation(self._engine) == 'named'
        mode = self._trt.TensorIOMode.INPUT if self._named else None
        self._io = trt_utils.engine_io(self._engine, mode)
        trt_utils.check_io_names(self._io, (self._in,), (self._out,))
        self._input_shape = trt_utils.resolve_shape(self._io[self._in]['shape'], shape, self._in)
        self._context = self._new_context()
        specs = {self._in: (self._input_shape, self._io[self._in]['dtype']),
                 self._out: (self._output_shape(self._context), self._io[self._out]['dtype'])}
        self._buffers = CudaBuffers(cuda, specs)
        self._bindings = trt_utils.bindings_list(self._io, self._buffers.pointers())
        self._bind(self._context)

    def _new_context(self):
        """Create an execution context with every dynamic input's shape set (section 3)."""
        context = self._engine.create_execution_context()
        if context is None:
            raise ClassifierError('TensorRT could not create an execution context (GPU memory?)')
        if trt_utils.is_dynamic(self._io[self._in]['shape']):
            if self._named:
                context.set_input_shape(self._in, self._input_shape)
            else:
                context.set_binding_shape(self._io[self._in]['index'], self._input_shape)
        return context

    def _output_shape(self, context):
        if self._named:
            shape = tuple(context.get_tensor_shape(self._out))
        else:
            shape = tuple(context.get_binding_shape(self._io[self._out]['index']))
        if trt_utils.is_dynamic(shape):
            raise ClassifierError('output %s has unresolved shape %s' % (self._out, shape))
        return shape

    def _bind(self, context):
        if self._named:
            for name, pointer in self._buffers.pointers().items():
                context.set_tensor_address(name, pointer)

    def _infer(self, batch):
        with self._lock, self._ctx.pushed():
            buffers = self._buffers
            dtype = self._io[self._in]['dtype']  # a user's file may take NHWC or float16
            if self._nhwc or batch.dtype != dtype:  # NumPy and CuPy alike
                batch = (batch.transpose(0, 2, 3, 1) if self._nhwc else batch).astype(
                    dtype, order='C')
            buffers.upload(self._in, batch)
            if self._named:
                ok = self._context.execute_async_v3(buffers.handle)
            else:
                ok = self._context.execute_async_v2(self._bindings, buffers.handle)
            logits = buffers.download(self._out)
            buffers.synchronize()  # the base class's timer then includes GPU completion
            logits = logits.reshape(logits.shape[0], -1).copy()  # (1, N, 1, 1) -> (1, N)
        if ok is False:
            raise ClassifierError('TensorRT execution failed (its log above says why)')
        return logits

    def record_layers(self, batch, runs):
        """1 warm-up and ``runs`` plain inferences of ``batch``, then :meth:`layer_times`.

        Returns ``{'timing', 'unprofiled_ms', 'profile': layer_times(runs), 'tensorrt',
        'precision'}`` (see :class:`Backend`).
        """
        self.load()
        self.infer(batch)  # warm-up
        unprofiled = self.unprofiled_ms(batch, runs)
        return {'tensorrt': self._trt.__version__, 'precision': self.precision,
                'timing': 'TensorRT IProfiler over execute_v2', 'profile': self.layer_times(runs),
                'unprofiled_ms': unprofiled}

    @staticmethod
    def layers_from_record(raw):
        prof, unprofiled = raw['profile'], raw['unprofiled_ms']
        layers = trt_utils.trt_layers(prof, prof.get('inspector'))
        wall = sum(unprofiled) / len(unprofiled) if unprofiled else None
        extra = {'tensorrt': raw.get('tensorrt'), 'precision': raw.get('precision'),
                 'inspector': prof.get('inspector') is not None}
        return layers, wall, extra, [
            'layer times come from a separate execute_v2 profiling run; wall_ms is infer() '
            '(input upload, execution, output download) without the profiler.']

    def layer_times(self, runs=10):
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
                    tensorrt=getattr(self._trt, '__version__', None),
                    tensorrt_runtime=runtime_label(self._trt) if self._trt else None)
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
                 cache_dir=None, log=None, device_id=0, runtime='auto', targets=None,
                 engine_dir=None):
    """Build (or find) the cached engine for ``model``; return its path (``build-engine`` CLI).

    TensorRT-RTX builds ahead of time, without a GPU, CUDA context or pycuda, for ``targets``
    (compute capabilities, e.g. ``'8.6,8.9'``; default: every one it supports). Classic TensorRT
    builds on and for GPU ``device_id``. ``engine_dir`` defaults to ``<cache_dir>/engines``.
    """
    log = log or logging.getLogger('trt_classifier.tensorrt')
    trt = import_trt(runtime)
    cache_dir = usable_cache_dir(cache_dir, log)
    engine_dir = engine_dir or os.path.join(cache_dir, 'engines')
    workspace = trt_utils.workspace_bytes(workspace_mb)
    weights = artefacts.resolve_weights(model, weights, cache_dir)
    shape = _input_shape(weights.spec)
    supported = supported_compute_capabilities(trt)
    if not supported:
        if targets:
            raise ClassifierError('compute capabilities can be chosen with TensorRT-RTX only; %s '
                                  'builds for the GPU it runs on' % runtime_label(trt))
        return _build_on_gpu(weights, precision, workspace, shape, cache_dir, log, device_id,
                             runtime)
    precision = trt_utils.normalise_precision(precision)
    onnx = onnx_for_engine(trt, weights, precision, shape, cache_dir, log)
    job = _Job(trt, weights, precision, onnx, workspace, shape, engine_dir,
               targets=trt_utils.parse_targets(targets, supported))
    path, _engine, reason = _find_cached([job.path], None, job.label, log)
    if path:
        return path
    log.info('building TensorRT engine for %s: %s' % (job.what, reason))
    path = _save(job.path, _build(trt, job, log), 'engine', log)
    if path is None:
        raise ClassifierError('the engine for %s was built but could not be saved under %s' % (
            model, engine_dir))
    return path


def _build_on_gpu(weights, precision, workspace, shape, cache_dir, log, device_id, runtime):
    """Classic TensorRT: build in a CUDA context on GPU ``device_id``, keyed by that GPU."""
    trt = check_runtime(runtime, device_id)
    import pycuda.driver as cuda
    ctx = PrimaryContext(cuda, device_id)
    try:
        with ctx.pushed():
            trt_runtime = trt.Runtime(_trt_logger(trt))
            engine, path, _precision = engine_on_gpu(
                trt, trt_runtime, ctx, weights, precision, workspace, shape, cache_dir, log)
            del engine, trt_runtime  # freed with the context pushed
    finally:
        ctx.release()
    if path is None:
        raise ClassifierError('the engine for %s was built but could not be saved under %s' % (
            weights.model, os.path.join(cache_dir, 'engines')))
    return path
