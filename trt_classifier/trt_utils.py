# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""TensorRT decisions that need no TensorRT: version gates, cache keys, dtypes, shapes, reports.

Everything here is plain Python on duck-typed objects so that it is tested on machines where
TensorRT cannot be installed; ``backends/tensorrt_backend.py`` only wires these to the real API.
API facts follow docs/TENSORRT.md (section numbers are cited in the docstrings).
"""

import hashlib
import json
import re
import threading
import time

from trt_classifier.errors import ClassifierError

PRECISIONS = ('fp32', 'fp16')
INPUT_NAME = 'input'
OUTPUT_NAME = 'logits'

# TensorRT DataType name -> NumPy dtype name (docs/TENSORRT.md section 3: trt.nptype's table).
_NUMPY_DTYPES = {
    'FLOAT': 'float32',
    'HALF': 'float16',
    'INT8': 'int8',
    'INT32': 'int32',
    'INT64': 'int64',
    'BOOL': 'bool',
    'UINT8': 'uint8',
}


def parse_version(text):
    """``'8.2.1.8'`` -> ``(8, 2, 1, 8)``; trailing non-numeric parts (``'10.3.0.post1'``) stop."""
    parts = []
    for piece in str(text).strip().split('.'):
        match = re.match(r'^(\d+)', piece)
        if not match:
            break
        parts.append(int(match.group(1)))
        if match.group(1) != piece:
            break
    if not parts:
        raise ClassifierError('cannot parse a TensorRT version from %r (expected e.g. 8.2.1.8)'
                              % (text,))
    return tuple(parts)


def api_generation(engine):
    """'named' (8.5+ I/O tensor API) or 'bindings' (8.0-8.4 binding API), by feature detection.

    docs/TENSORRT.md §3: ``num_io_tensors`` exists from 8.5; the binding API is gone in 10.x.
    """
    return 'named' if hasattr(engine, 'num_io_tensors') else 'bindings'


def network_flags(trt_version, explicit_batch_value):
    """Return the ``create_network`` flags: ``1 << EXPLICIT_BATCH`` on 8.x, 0 on 10+.

    docs/TENSORRT.md §2: the 8.x ONNX parser needs an explicit-batch network; 10.x ignores it.
    ``explicit_batch_value`` is ``trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH`` (or None
    where the enum lacks it, which is only allowed on 10+).
    """
    if parse_version(trt_version)[0] >= 10:
        return 0
    if explicit_batch_value is None:
        raise ClassifierError('TensorRT %s has no NetworkDefinitionCreationFlag.EXPLICIT_BATCH, '
                              'which the ONNX parser needs before 10.0' % trt_version)
    return 1 << int(explicit_batch_value)


def slug(text):
    """Lower-case file-name-safe form: ``'NVIDIA Tegra X1'`` -> ``'nvidia-tegra-x1'``."""
    return re.sub(r'[^a-z0-9._]+', '-', str(text).lower()).strip('-._') or 'unknown'


def format_compute_capability(cc):
    """``(5, 3)`` (pycuda's ``Device.compute_capability()``) or ``'5.3'`` -> ``'5.3'``."""
    if isinstance(cc, (tuple, list)):
        if len(cc) != 2:
            raise ClassifierError('compute capability must be (major, minor), not %r' % (cc,))
        return '%d.%d' % (int(cc[0]), int(cc[1]))
    text = str(cc).strip()
    if not re.match(r'^\d+\.\d+$', text):
        raise ClassifierError('compute capability must look like 8.7, not %r' % (cc,))
    return text


def engine_cache_key(onnx_sha, trt_version, device_name, compute_capability, precision,
                     workspace_bytes, input_shape):
    """16 hex digits identifying one engine build.

    An engine only runs on the TensorRT version and GPU model that built it (docs/TENSORRT.md
    section 2, "Engine portability"), so all of these go into the key; changing any one rebuilds.
    """
    fields = {
        'onnx_sha256': str(onnx_sha),
        'tensorrt': str(trt_version),
        'device': str(device_name),
        'compute_capability': format_compute_capability(compute_capability),
        'precision': str(precision),
        'workspace_bytes': int(workspace_bytes),
        'input_shape': [int(d) for d in input_shape],
    }
    blob = json.dumps(fields, sort_keys=True, separators=(',', ':')).encode('utf-8')
    return hashlib.sha256(blob).hexdigest()[:16]


def engine_filename(model, precision, key):
    """``'squeezenet1_1-fp16-0123456789abcdef.engine'``."""
    return '%s-%s-%s.engine' % (slug(model), precision, key)


def timing_cache_name(trt_version, device_name, compute_capability):
    """One timing-cache file per device and TensorRT version (docs/TENSORRT.md section 2)."""
    cc = format_compute_capability(compute_capability).replace('.', '')
    return 'timing-trt%s-%s-sm%s.cache' % (
        '.'.join(str(p) for p in parse_version(trt_version)), slug(device_name), cc)


def normalise_precision(requested):
    """``'FP16 '`` -> ``'fp16'``; anything but fp32/fp16 raises, listing the allowed values."""
    value = str(requested).strip().lower()
    if value not in PRECISIONS:
        raise ClassifierError('precision must be one of %s for the tensorrt backend, not %r' % (
            ', '.join(PRECISIONS), requested))
    return value


def choose_precision(requested, platform_has_fast_fp16):
    """Return ``(precision, warning or None)``.

    fp16 on a GPU without fast FP16 (``builder.platform_has_fast_fp16`` False) falls back to fp32
    with a warning, as TensorRT's samples do: the FP16 flag would buy nothing there.
    """
    precision = normalise_precision(requested)
    if precision == 'fp16' and not platform_has_fast_fp16:
        return 'fp32', ('fp16 requested but this GPU has no fast FP16 '
                        '(builder.platform_has_fast_fp16 is False); building fp32 instead')
    return precision, None


def workspace_api(config):
    """'memory_pool' (8.4+: ``set_memory_pool_limit``) or 'max_workspace_size' (8.0-8.2).

    docs/TENSORRT.md section 2: ``max_workspace_size`` is removed in 10.x.
    """
    return 'memory_pool' if hasattr(config, 'set_memory_pool_limit') else 'max_workspace_size'


def workspace_bytes(megabytes):
    """Workspace option in MiB -> bytes; must be a positive whole number."""
    try:
        value = int(megabytes)
    except (TypeError, ValueError):
        value = 0
    if value < 1 or str(value) != str(megabytes).strip():
        raise ClassifierError('workspace_mb must be a positive whole number of MiB, not %r'
                              % (megabytes,))
    return value << 20


def set_workspace(config, nbytes, workspace_pool):
    """Apply the workspace limit with whichever API ``config`` has; return the API used.

    ``workspace_pool`` is ``trt.MemoryPoolType.WORKSPACE`` (None where the enum is absent).
    """
    api = workspace_api(config)
    if api == 'memory_pool':
        config.set_memory_pool_limit(workspace_pool, int(nbytes))
    else:
        config.max_workspace_size = int(nbytes)
    return api


def dtype_name(dtype):
    """``trt.DataType.HALF`` / ``'DataType.HALF'`` / ``'half'`` -> ``'HALF'``."""
    name = getattr(dtype, 'name', None)
    if not isinstance(name, str):
        name = str(dtype)
    return name.split('.')[-1].strip().upper()


def trt_dtype_to_numpy(dtype):
    """Return the NumPy dtype for a TensorRT DataType (or its name); unsupported types raise."""
    import numpy
    name = dtype_name(dtype)
    try:
        return numpy.dtype(_NUMPY_DTYPES[name])
    except KeyError:
        raise ClassifierError('TensorRT data type %s has no NumPy equivalent here; supported: %s'
                              % (name, ', '.join(sorted(_NUMPY_DTYPES)))) from None


def resolve_shape(engine_shape, requested, name=INPUT_NAME):
    """Replace the engine's -1 dimensions with ``requested``'s; static dimensions must agree."""
    engine_shape = tuple(int(d) for d in engine_shape)
    requested = tuple(int(d) for d in requested)
    if len(engine_shape) != len(requested):
        raise ClassifierError('tensor %s: the engine expects %d dimensions %s, got %d %s' % (
            name, len(engine_shape), engine_shape, len(requested), requested))
    resolved = []
    for axis, (have, want) in enumerate(zip(engine_shape, requested)):
        if want < 1:
            raise ClassifierError('tensor %s: requested shape %s has a non-positive dimension %d'
                                  % (name, requested, axis))
        if have != -1 and have != want:
            raise ClassifierError(
                'tensor %s: the engine was built for shape %s, got %s (dimension %d must be %d)'
                % (name, engine_shape, requested, axis, have))
        resolved.append(want)
    return tuple(resolved)


def is_dynamic(shape):
    return any(int(d) < 0 for d in shape)


def engine_io(engine, input_mode=None):
    """Describe an engine's I/O tensors by name, for either API generation.

    Returns ``{name: {'input': bool, 'shape': tuple, 'dtype': numpy dtype, 'index': int}}``.
    ``index`` is the binding index (binding API) or the I/O tensor index (named API), which is
    the slot in the ``bindings`` list that ``execute_v2`` takes. ``input_mode`` is
    ``trt.TensorIOMode.INPUT``, needed for the named API only.
    """
    io = {}
    if api_generation(engine) == 'named':
        for index in range(engine.num_io_tensors):
            name = engine.get_tensor_name(index)
            io[name] = {'input': engine.get_tensor_mode(name) == input_mode,
                        'shape': tuple(engine.get_tensor_shape(name)),
                        'dtype': trt_dtype_to_numpy(engine.get_tensor_dtype(name)),
                        'index': index}
    else:
        for index in range(engine.num_bindings):
            name = engine.get_binding_name(index)
            io[name] = {'input': bool(engine.binding_is_input(index)),
                        'shape': tuple(engine.get_binding_shape(index)),
                        'dtype': trt_dtype_to_numpy(engine.get_binding_dtype(index)),
                        'index': engine.get_binding_index(name)}
    return io


def check_io_names(io, inputs=(INPUT_NAME,), outputs=(OUTPUT_NAME,)):
    """Raise unless the engine has exactly these named inputs and outputs."""
    have_in = sorted(n for n, t in io.items() if t['input'])
    have_out = sorted(n for n, t in io.items() if not t['input'])
    if have_in != sorted(inputs) or have_out != sorted(outputs):
        raise ClassifierError('the engine has inputs %s and outputs %s; expected inputs %s and '
                              'outputs %s (the ONNX export names them)' % (
                                  have_in, have_out, sorted(inputs), sorted(outputs)))


def bindings_list(io, pointers):
    """``[ptr, ...]`` ordered by each tensor's index; ``pointers`` maps tensor name -> address."""
    slots = [0] * len(io)
    for name, tensor in io.items():
        slots[tensor['index']] = int(pointers[name])
    return slots


def split_fused_name(name):
    """Split a fused layer name: ``'Conv_8 + Relu_10'`` -> ``['Conv_8', 'Relu_10']``.

    docs/TENSORRT.md §4: ``' + '`` joins vertically and ``' || '`` horizontally fused layers.
    """
    parts = []
    for vertical in str(name).split(' + '):
        parts.extend(p.strip() for p in vertical.split(' || ') if p.strip())
    return parts


def parse_profile_records(records, runs=None):
    """Per-layer mean time from IProfiler ``(layer_name, ms)`` reports, in execution order.

    Each profiled run reports every layer once; the mean is over the runs (``runs`` if given,
    else the number of reports of that layer). Returns
    ``{'layers': [{'name', 'mean_ms', 'reports', 'share'}], 'total_ms': sum of means}``
    where ``share`` is the layer's fraction of ``total_ms``.
    """
    totals = {}
    counts = {}
    order = []
    for name, ms in records:
        name = str(name)
        if name not in totals:
            order.append(name)
            totals[name] = 0.0
            counts[name] = 0
        totals[name] += float(ms)
        counts[name] += 1
    if runs is not None and int(runs) < 1:
        raise ClassifierError('runs must be >= 1, not %r' % (runs,))
    layers = []
    for name in order:
        divisor = int(runs) if runs is not None else counts[name]
        layers.append({'name': name, 'mean_ms': totals[name] / divisor, 'reports': counts[name]})
    total = sum(layer['mean_ms'] for layer in layers)
    for layer in layers:
        layer['share'] = layer['mean_ms'] / total if total > 0 else 0.0
    return {'layers': layers, 'total_ms': total}


def parse_inspector_json(text):
    """Layers from ``IEngineInspector.get_engine_information(LayerInformationFormat.JSON)``.

    With LAYER_NAMES_ONLY verbosity ``Layers`` is a list of names; with DETAILED it is a list of
    objects with ``Name`` and ``LayerType`` (docs/TENSORRT.md section 4). Returns
    ``[{'name', 'type' (None when names only), 'tactic' (None if absent)}]``.
    """
    try:
        info = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ClassifierError('engine inspector output is not JSON: %s' % exc) from exc
    entries = info.get('Layers') if isinstance(info, dict) else None
    if not isinstance(entries, list):
        raise ClassifierError('engine inspector JSON has no "Layers" list (keys: %s)' % (
            ', '.join(sorted(info)) if isinstance(info, dict) else type(info).__name__))
    layers = []
    for entry in entries:
        if isinstance(entry, dict):
            layers.append({'name': str(entry.get('Name', '')),
                           'type': entry.get('LayerType'),
                           'tactic': entry.get('TacticName', entry.get('TacticValue'))})
        else:
            layers.append({'name': str(entry), 'type': None, 'tactic': None})
    return layers


def _call(obj, method):
    fn = getattr(obj, method, None)
    if fn is None:
        return None
    try:
        return fn()
    except Exception:  # an accessor missing from this TensorRT version's binding
        return None


def format_parser_errors(parser):
    """One line per ONNX parser error: description, node (index, name, operator), code.

    Duck-typed: ``parser.num_errors`` and ``parser.get_error(i)`` whose items have ``desc()``,
    and, depending on the TensorRT version, ``node()``, ``node_name()``, ``node_operator()``,
    ``code()``.
    """
    count = int(getattr(parser, 'num_errors', 0) or 0)
    lines = []
    for i in range(count):
        error = parser.get_error(i)
        desc = _call(error, 'desc') or str(error)
        where = []
        node = _call(error, 'node')
        if node is not None and int(node) >= 0:
            where.append('node %d' % int(node))
        for label, method in (('name', 'node_name'), ('op', 'node_operator')):
            value = _call(error, method)
            if value:
                where.append('%s %s' % (label, value))
        code = _call(error, 'code')
        if code is not None:
            where.append('code %s' % (getattr(code, 'name', None) or code))
        lines.append('[%d/%d] %s%s' % (i + 1, count, desc,
                                       ' (%s)' % ', '.join(where) if where else ''))
    return lines


class BuildProgress(object):
    """Context manager logging ``still building engine for X (N s)...`` every ``interval`` s.

    Engine builds take minutes on a Jetson Nano; this keeps the log alive meanwhile. The thread
    is a daemon and is joined on exit, so a failed build never leaves it running.
    """

    def __init__(self, log, what, interval=10.0, clock=time.monotonic):
        self.log = log
        self.what = what
        self.interval = interval
        self.clock = clock
        self.elapsed = 0.0
        self._stop = threading.Event()
        self._thread = None
        self._start = None

    def _run(self):
        while not self._stop.wait(self.interval):
            self.log.info('still building engine for %s (%d s)...' % (
                self.what, int(round(self.clock() - self._start))))

    def __enter__(self):
        self._start = self.clock()
        self._thread = threading.Thread(target=self._run, name='trt-build-progress')
        self._thread.daemon = True
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.elapsed = self.clock() - self._start
        return False
