# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""TensorRT decisions that need no TensorRT: version gates, cache keys, dtypes, shapes, reports.

Everything here is plain Python on duck-typed objects so that it is tested on machines where
TensorRT cannot be installed; ``backends/tensorrt_backend.py`` only wires these to the real API.
That includes the TensorRT profiler's half that needs no TensorRT: IProfiler reports and the
engine inspector's JSON parsed, fused layer names split, normalised layers.
API facts follow docs/TENSORRT.md (section numbers are cited in the docstrings).

Two runtimes share that API: classic TensorRT (``import tensorrt``, 8.x/10.x, Jetson and x86)
and TensorRT-RTX (``import tensorrt_rtx``, versions 1.x, RTX GPUs): TensorRT 10's API with
strongly typed networks (no FP16 builder flag, no EXPLICIT_BATCH, no ``platform_has_fast_fp16``),
ahead-of-time builds for chosen compute capabilities, and timing-cache calls that are no-ops.
"""

import collections
import hashlib
import json
import re
import threading
import time

from trt_classifier import layer_kinds
from trt_classifier.errors import ClassifierError

PRECISIONS = ('fp32', 'fp16')
# Python module -> name in logs and reports; ``auto`` tries them in this order (classic first).
RUNTIMES = collections.OrderedDict([('tensorrt', 'TensorRT'), ('tensorrt_rtx', 'TensorRT-RTX')])
RUNTIME_CHOICES = ('auto',) + tuple(RUNTIMES)
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


def network_flags(trt_version, explicit_batch_value, runtime='tensorrt'):
    """Return the ``create_network`` flags: ``1 << EXPLICIT_BATCH`` on 8.x, 0 on 10+ and RTX.

    docs/TENSORRT.md §2: the 8.x ONNX parser needs an explicit-batch network; 10.x ignores it.
    ``explicit_batch_value`` is ``trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH`` (or None
    where the enum lacks it, which is only allowed on 10+). TensorRT-RTX (versions 1.x, which
    are not TensorRT 1.x) has no such flag: its networks are explicit-batch and strongly typed.
    """
    if runtime != 'tensorrt' or parse_version(trt_version)[0] >= 10:
        return 0
    if explicit_batch_value is None:
        raise ClassifierError('TensorRT %s has no NetworkDefinitionCreationFlag.EXPLICIT_BATCH, '
                              'which the ONNX parser needs before 10.0' % trt_version)
    return 1 << int(explicit_batch_value)


def _one_of(name, requested, choices, where=''):
    value = str(requested).strip().lower()
    if value not in choices:
        raise ClassifierError('%s must be one of %s%s, not %r' % (
            name, ', '.join(choices), where, requested))
    return value


def normalise_runtime(requested):
    """``' TensorRT_RTX'`` -> ``'tensorrt_rtx'``; anything else than the choices raises."""
    return _one_of('tensorrt_runtime', requested, RUNTIME_CHOICES)


def runtime_name(trt):
    """``'tensorrt'`` or ``'tensorrt_rtx'`` for an imported TensorRT module (by its name)."""
    name = str(getattr(trt, '__name__', 'tensorrt')).split('.')[0]
    return 'tensorrt_rtx' if name.startswith('tensorrt_rtx') else 'tensorrt'


def runtime_label(runtime, version):
    """``('tensorrt_rtx', '1.7.1.116')`` -> ``'TensorRT-RTX 1.7.1'``; 8.2.1.8 -> TensorRT 8.2.1."""
    return '%s %s' % (RUNTIMES[runtime], '.'.join(str(p) for p in parse_version(version)[:3]))


def supports_timing_cache(runtime):
    """Classic TensorRT keeps a timing cache; TensorRT-RTX 1.2+ made its calls no-ops."""
    return runtime == 'tensorrt'


def strongly_typed(builder_flags):
    """Tell whether ``trt.BuilderFlag`` lacks FP16 (TensorRT-RTX): precision is in the ONNX."""
    return not hasattr(builder_flags, 'FP16')


def fast_fp16(builder):
    """``builder.platform_has_fast_fp16``; True where the builder lacks it (TensorRT-RTX).

    TensorRT-RTX runs only on GPUs with fast FP16 (Turing and newer) and takes the precision
    from the network's types, so there is nothing to fall back from.
    """
    return bool(getattr(builder, 'platform_has_fast_fp16', True))


def supported_compute_capabilities(cc_enum):
    """Compute capabilities named by ``trt.ComputeCapability`` (``SM86`` -> ``'8.6'``), sorted.

    TensorRT-RTX's enum lists what its builder targets and its runtime runs; ``CURRENT`` and
    ``NONE`` are not capabilities.
    """
    found = set()
    for name in dir(cc_enum):
        match = re.match(r'^SM(\d+)(\d)$', name)
        if match:
            found.add('%d.%s' % (int(match.group(1)), match.group(2)))
    return sorted(found, key=_cc_order)


def _cc_order(cc):
    major, minor = cc.split('.')
    return int(major), int(minor)


def cc_enum_name(cc):
    """``'8.6'`` -> ``'SM86'`` (the ``trt.ComputeCapability`` member)."""
    return 'SM' + format_compute_capability(cc).replace('.', '')


def parse_targets(text, supported):
    """``'8.6, 8.9'`` -> ``['8.6', '8.9']``; ``'all'``: ``supported``; empty: the portable set.

    The portable set is NVIDIA's default for TensorRT-RTX engines: every supported capability
    from 8.0 on. Turing (7.5) only on request: it has no FP32 GEMM, so fp32 builds of models
    with a fully connected layer fail for it (TensorRT says so). Unknown capabilities raise.
    """
    if text is None or not str(text).strip():
        targets = [cc for cc in supported if _cc_order(cc) >= (8, 0)]
    elif str(text).strip().lower() == 'all':
        targets = list(supported)
    else:
        items = text if isinstance(text, (list, tuple)) else str(text).split(',')
        targets = [format_compute_capability(item) for item in items if str(item).strip()]
    unknown = [cc for cc in targets if cc not in supported]
    if unknown or not targets:
        raise ClassifierError('compute capability %s is not one this runtime builds for; choose '
                              'from %s (or all)' % (', '.join(unknown) or '(none)',
                                                    ', '.join(supported)))
    return sorted(set(targets), key=_cc_order)


def unsupported_gpu_reason(label, device_name, cc, supported, device_id=0):
    """'' if ``cc`` is in ``supported``, else the one line a user needs to see."""
    cc = format_compute_capability(cc)
    if cc in supported:
        return ''
    return ('GPU %d (%s) has compute capability %s; %s runs engines only on compute capability '
            '%s' % (device_id, device_name, cc, label, ', '.join(supported)))


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
    return _digest({
        'onnx_sha256': str(onnx_sha),
        'tensorrt': str(trt_version),
        'device': str(device_name),
        'compute_capability': format_compute_capability(compute_capability),
        'precision': str(precision),
        'workspace_bytes': int(workspace_bytes),
        'input_shape': [int(d) for d in input_shape],
    })


def aot_engine_key(onnx_sha, runtime, version, targets, precision, workspace_bytes, input_shape):
    """16 hex digits for an engine built ahead of time for ``targets`` (TensorRT-RTX).

    No device here: such an engine runs on any GPU whose compute capability is in ``targets``,
    with the same runtime and version.
    """
    return _digest({
        'onnx_sha256': str(onnx_sha),
        'runtime': str(runtime),
        'version': str(version),
        'targets': [format_compute_capability(cc) for cc in targets],
        'precision': str(precision),
        'workspace_bytes': int(workspace_bytes),
        'input_shape': [int(d) for d in input_shape],
    })


def _digest(fields):
    blob = json.dumps(fields, sort_keys=True, separators=(',', ':')).encode('utf-8')
    return hashlib.sha256(blob).hexdigest()[:16]


def engine_filename(model, precision, key):
    """``'squeezenet1_1-fp16-0123456789abcdef.engine'``."""
    return '%s-%s-%s.engine' % (slug(model), precision, key)


def aot_engine_filename(model, precision, targets, key):
    """``'squeezenet1_1-fp16-cc86_89_120-0123456789abcdef.engine'``: the targets are readable."""
    tags = '_'.join(format_compute_capability(cc).replace('.', '') for cc in targets)
    return '%s-%s-cc%s-%s.engine' % (slug(model), precision, tags, key)


def find_aot_engines(names, model, precision, cc, key_for):
    """File names among ``names`` built for targets that include ``cc``, fewest targets first.

    ``key_for(targets)`` returns the key those targets would have with everything else of this
    request (ONNX, runtime, version, precision, workspace, shape); a name whose key differs was
    built from something else and is skipped.
    """
    pattern = re.compile(r'^%s-%s-cc([0-9_]+)-([0-9a-f]{16})\.engine$' % (
        re.escape(slug(model)), re.escape(precision)))
    cc = format_compute_capability(cc)
    found = []
    for name in names:
        match = pattern.match(name)
        if not match:
            continue
        targets = ['%s.%s' % (tag[:-1], tag[-1]) for tag in match.group(1).split('_') if tag]
        if cc in targets and match.group(2) == key_for(targets):
            found.append((len(targets), name))
    return [name for _count, name in sorted(found)]


def timing_cache_name(trt_version, device_name, compute_capability):
    """One timing-cache file per device and TensorRT version (docs/TENSORRT.md section 2)."""
    cc = format_compute_capability(compute_capability).replace('.', '')
    return 'timing-trt%s-%s-sm%s.cache' % (
        '.'.join(str(p) for p in parse_version(trt_version)), slug(device_name), cc)


def normalise_precision(requested):
    """``'FP16 '`` -> ``'fp16'``; anything but fp32/fp16 raises, listing the allowed values."""
    return _one_of('precision', requested, PRECISIONS, ' for the tensorrt backend')


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
    """Original layer names inside a TensorRT layer name, in order.

    docs/TENSORRT.md §4: ``' + '`` joins vertically fused layers (``'Conv_8 + Add_9 + Relu_10'``
    -> ``['Conv_8', 'Add_9', 'Relu_10']``), ``' || '`` horizontally fused ones, and
    ``'PWN(Relu_10)'`` is a point-wise node (-> ``['Relu_10']``); nested ``PWN(PWN(A), B)`` and
    comma-separated operands are unwrapped the same way.
    """
    text = str(name).strip()
    if 'PWN(' in text:
        text = text.replace('PWN(', ' + ').replace(')', ' + ').replace(',', ' + ')
    parts = []
    for vertical in text.split(' + '):
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


def trt_layers(profile, inspector=None):
    """Normalised layers from :func:`parse_profile_records` (and the inspector's layer types)."""
    types = {}
    for entry in inspector or ():
        if entry.get('type'):
            types[str(entry.get('name'))] = str(entry['type'])
    layers = []
    for entry in profile.get('layers', ()):
        name = str(entry['name'])
        sources = split_fused_name(name)
        source_kinds = [layer_kinds.layer_kind(s) for s in sources]
        known = [k for k in source_kinds if k != 'other']
        kind = (layer_kinds.primary_kind(known) if known else
                layer_kinds.layer_kind(types.get(name, name)))
        if name.startswith('Reformatting') or 'CopyNode' in name:
            kind, source_kinds = 'other', ['other'] * len(sources)
        op = types.get(name, 'PWN' if name.startswith('PWN(') else '')
        layers.append(layer_kinds.layer(name, op, kind, entry['mean_ms'], sources, source_kinds))
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


class BuildPhases(object):
    """Log the phases an ``IProgressMonitor`` reports (TensorRT 10 and TensorRT-RTX).

    The top ``depth`` levels go to info (``build phase: Building engine (3 steps)``), deeper ones
    to debug. ``started`` keeps every phase name, in order.
    """

    def __init__(self, log, depth=2):
        self.log = log
        self.depth = depth
        self.levels = {}
        self.started = []

    def start(self, name, parent, steps):
        level = 0 if parent is None else self.levels.get(parent, 0) + 1
        self.levels[name] = level
        self.started.append(name)
        line = 'build phase: %s%s (%d steps)' % ('. ' * level, name, int(steps))
        (self.log.info if level < self.depth else self.log.debug)(line)
