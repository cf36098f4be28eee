# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Per-layer profiles of one forward pass, normalised across Chainer, ONNX Runtime and TensorRT.

What the study read off the NVIDIA Visual Profiler (which layers ran, how long each took, which
were fused, how much of the forward was idle between kernels), taken from each runtime's own
profiler:

- **chainer**: a function hook timing every ``FunctionNode`` of the forward. On the CPU with
  ``time.perf_counter``; on the GPU with CUDA events (``cupy.cuda.Event``) recorded on the current
  stream around each function and read after the forward has finished, so the GPU is never
  synchronised per function. (Chainer's own ``TimerHook`` also uses CUDA events but calls
  ``stop.synchronize()`` after every function, which serialises host and device and inflates the
  very gaps we want to see.) No fusion: every function is one executed layer.
- **onnxruntime**: ONNX Runtime's built-in profiler (``SessionOptions.enable_profiling``; the JSON
  trace's ``cat: Node`` events named ``<node>_kernel_time``, per run between ``model_run``
  events). The optimised graph ONNX Runtime executes is saved from a second session with the same
  providers and optimisation level, and each executed node is mapped back to the exported ONNX
  nodes it replaced (its name, the initializers it reads, its ``activation`` attribute and fused
  ``Sum`` input): with ``ORT_ENABLE_ALL`` on x86 Conv+BatchNormalization+Add+Relu become one
  NCHWc ``Conv`` node, the CPU analogue of the study's TensorRT fusions. Times of CUDA-provider
  nodes are host-side launch times, not GPU kernel times.
- **tensorrt**: ``TensorRTBackend.profile`` (IProfiler over ``execute_v2``, plus the engine
  inspector where TensorRT has one); fused layer names are split as docs/TENSORRT.md §4 documents
  (``' + '`` vertical, ``' || '`` horizontal, ``PWN(...)`` point-wise).

Every result has the same shape (see :func:`profile`): the executed layers with their kind, mean
time per forward and the original layers fused into them; a per-kind ``grouping``; the forward
wall time and the idle time not spent inside any reported layer.
"""

import json
import logging
import os
import platform
import re
import shutil
import sys
import tempfile
import time

from trt_classifier.errors import ClassifierError

PROFILED_BACKENDS = ('chainer', 'onnxruntime', 'tensorrt')
KINDS = ('conv', 'bn', 'activation', 'add', 'concat', 'pool', 'fc', 'softmax', 'other')
KIND_LABELS = {'activation': 'relu/activation', 'fc': 'fc (linear/gemm)', 'other': 'reshape/other'}
# Which kind names a fused layer: the heaviest operation in it.
_PRIMARY_ORDER = ('conv', 'fc', 'pool', 'concat', 'add', 'bn', 'activation', 'softmax', 'other')
RESULT_FORMAT = 1

_EXACT_KINDS = {
    'conv': ('conv', 'convolution', 'convolution2d', 'convolution2dfunction', 'convolutionnd',
             'convolutionndfunction', 'fusedconv', 'caskconvolution', 'depthwiseconvolution2d',
             'deconvolution2dfunction', 'convtranspose', 'convinteger', 'qlinearconv',
             'nchwcconv'),
    'bn': ('bn', 'batchnorm', 'batchnormalization', 'fixedbatchnormalization',
           'batchnormalizationfunction', 'scale', 'instancenormalization'),
    'activation': ('relu', 'relu6', 'clippedrelu', 'clip', 'leakyrelu', 'sigmoid', 'hardsigmoid',
                   'tanh', 'elu', 'selu', 'swish', 'hardswish', 'gelu', 'prelu', 'softplus',
                   'mish', 'activation', 'pwn', 'pointwise', 'pointwisev2'),
    'add': ('add', 'sum', 'elementwise', 'eltwise'),
    'concat': ('concat', 'concatenation'),
    'pool': ('pool', 'pooling', 'maxpool', 'averagepool', 'globalaveragepool', 'globalmaxpool',
             'maxpoolingnd', 'maxpooling2d', 'averagepoolingnd', 'averagepooling2d', 'mean',
             'reducemean', 'caskpooling', 'reduce'),
    'fc': ('fc', 'linear', 'linearfunction', 'gemm', 'fusedgemm', 'matmul', 'fusedmatmul',
           'fullyconnected', 'innerproduct', 'matrixmultiply'),
    'softmax': ('softmax', 'logsoftmax'),
    'other': ('reshape', 'flatten', 'transpose', 'shuffle', 'reformat', 'reorderinput',
              'reorderoutput', 'identity', 'dropout', 'copy', 'squeeze', 'unsqueeze', 'gather',
              'shape', 'constant', 'cast', 'pad', 'noop', 'slice', 'split'),
}
_KIND_OF = {key: kind for kind, keys in _EXACT_KINDS.items() for key in keys}
# Fallback for names that are not a bare operator (``'CaskConvolution_xyz'``); ``add``/``sum``
# are deliberately exact-only (they hide inside ``padding``, ``summary``).
_SUBSTRING_KINDS = (
    ('other', ('reformat', 'copynode', 'reorder', 'reshape', 'shuffle')),
    ('softmax', ('softmax',)),
    ('conv', ('conv',)),
    ('bn', ('batchnorm',)),
    ('pool', ('pool',)),
    ('fc', ('gemm', 'matmul', 'linear', 'fullyconnected', 'innerproduct')),
    ('concat', ('concat',)),
    ('activation', ('relu', 'clip', 'sigmoid', 'tanh', 'swish', 'pwn', 'pointwise')),
    ('add', ('elementwise', 'eltwise')),
)


# -- kinds --------------------------------------------------------------------------------------

def layer_kind(name):
    """Return the kind of a Chainer function, ONNX op type or TensorRT layer name/type.

    ``'Convolution2DFunction'``, ``'FusedConv'``, ``'Conv_8'``, ``'CaskConvolution'`` -> conv;
    ``'FixedBatchNormalization'`` -> bn; ``'ReLU'``, ``'Clip'`` -> activation; ``'Add'``,
    ``'Sum'`` -> add; ``'Concat'`` -> concat; ``'MaxPoolingND'``, ``'GlobalAveragePool'``,
    ``'Mean'`` -> pool; ``'LinearFunction'``, ``'Gemm'`` -> fc; ``'Softmax'`` -> softmax;
    anything else -> other.
    """
    text = str(name or '').strip()
    if text.startswith('PWN('):
        return 'activation'
    low = text.lower().split(':')[-1]
    low = re.sub(r'_nchwc$', '', low)
    low = re.sub(r'([_.:\-]?\d+)+$', '', low)  # Conv_8, ReLU_0, conv1
    key = re.sub(r'[^a-z0-9]', '', low)
    if key in _KIND_OF:
        return _KIND_OF[key]
    for kind, needles in _SUBSTRING_KINDS:
        if any(needle in key for needle in needles):
            return kind
    return 'other'


def primary_kind(kinds):
    """Return the kind that names a fused layer: conv over fc over pool ... over other."""
    kinds = set(kinds)
    for kind in _PRIMARY_ORDER:
        if kind in kinds:
            return kind
    return 'other'


def fusion_pattern(kinds):
    """``['conv', 'bn', 'activation']`` -> ``'conv+bn+activation'`` (repeats collapsed)."""
    out = []
    for kind in kinds:
        if not out or out[-1] != kind:
            out.append(kind)
    return '+'.join(out)


# -- TensorRT layer names (docs/TENSORRT.md §4) -------------------------------------------------

def split_trt_layer_name(name):
    """Original layer names inside a TensorRT layer name, in order.

    ``'Conv_8 + Add_9 + Relu_10'`` -> ``['Conv_8', 'Add_9', 'Relu_10']`` (vertical fusion),
    ``'Conv_1 || Conv_2'`` -> both (horizontal), ``'PWN(Relu_10)'`` -> ``['Relu_10']``; nested
    ``PWN(PWN(A), B)`` and comma-separated operands are unwrapped the same way.
    """
    from trt_classifier.trt_utils import split_fused_name
    text = str(name).strip()
    if 'PWN(' not in text:
        return split_fused_name(text)
    flat = text.replace('PWN(', ' + ').replace(')', ' + ').replace(',', ' + ')
    return split_fused_name(flat)


def trt_layers(profile, inspector=None):
    """Normalised layers from ``TensorRTBackend.profile()``'s ``layers`` (and inspector types)."""
    types = {}
    for entry in inspector or ():
        if entry.get('type'):
            types[str(entry.get('name'))] = str(entry['type'])
    layers = []
    for layer in profile.get('layers', ()):
        name = str(layer['name'])
        sources = split_trt_layer_name(name)
        source_kinds = [layer_kind(s) for s in sources]
        known = [k for k in source_kinds if k != 'other']
        kind = primary_kind(known) if known else layer_kind(types.get(name, name))
        if name.startswith('Reformatting') or 'CopyNode' in name:
            kind, source_kinds = 'other', ['other'] * len(sources)
        layers.append(_layer(name, types.get(name, 'PWN' if name.startswith('PWN(') else ''),
                             kind, layer['mean_ms'], sources, source_kinds))
    return layers


# -- Chainer -------------------------------------------------------------------------------------

def _make_chainer_hook(chainer, param_links, cupy=None):
    """Return a FunctionHook recording ``[function, link, ms]`` per top-level function.

    ``param_links`` maps ``id(param.array)`` to the owning link's path. With ``cupy`` the times
    come from CUDA events read in :meth:`collect` (call it after the device has finished).
    """

    class LayerTimer(chainer.FunctionHook):
        name = 'trt_classifier.profiling.LayerTimer'

        def __init__(self):
            self.calls = []
            self._pending = []
            self._stack = []

        def forward_preprocess(self, function, in_data):
            if cupy is None:
                self._stack.append(time.perf_counter())
            else:
                start = cupy.cuda.Event()
                start.record()
                self._stack.append(start)

        def forward_postprocess(self, function, in_data):
            start = self._stack.pop()
            if self._stack:  # a function called inside another: its time is in the outer one
                return
            op = getattr(function, '_impl_name', None) or function.label
            link = None
            for array in in_data:
                link = param_links.get(id(array))
                if link is not None:
                    break
            if cupy is None:
                self.calls.append([op, link, (time.perf_counter() - start) * 1000.0])
            else:
                stop = cupy.cuda.Event()
                stop.record()
                self._pending.append((op, link, start, stop))

        def collect(self):
            """Return and clear the calls recorded so far (GPU: after a synchronize)."""
            for op, link, start, stop in self._pending:
                stop.synchronize()
                self.calls.append([op, link, float(cupy.cuda.get_elapsed_time(start, stop))])
            self._pending = []
            calls, self.calls = self.calls, []
            return calls

    return LayerTimer()


def _param_links(model):
    links = {}
    for path, param in model.namedparams():
        if param.array is not None:
            links[id(param.array)] = path.rsplit('/', 1)[0] or '/'
    return links


def record_chainer(model, device='cpu', runs=10, weights='random', cache_dir=None, log=None,
                   batch=None):
    """Run 1 warm-up + ``runs`` hooked forwards + ``runs`` plain ones; return the raw records.

    ``{'timing', 'runs': [{'wall_ms', 'calls': [[function, link, ms], ...]}], 'unprofiled_ms'}``.
    Forwards go through the chainer backend (train=False, no_backprop_mode, output copied to the
    host, so on the GPU the wall clock stops after the device has finished).
    """
    from trt_classifier.backends import create_backend
    runs = _check_runs(runs)
    backend = create_backend('chainer', model, weights=weights, device=device,
                             cache_dir=cache_dir, log=log)
    with backend:
        chainer = backend.chainer
        cupy = backend.xp if backend.device_kind == 'gpu' else None
        x = backend.xp.asarray(_input_batch(model) if batch is None else batch)
        hook = _make_chainer_hook(chainer, _param_links(backend.model), cupy)
        backend.infer(x)  # warm-up: not recorded
        records = []
        for _ in range(runs):
            with hook:
                backend.infer(x)
            records.append({'wall_ms': backend.last_inference_ms, 'calls': hook.collect()})
        unprofiled = []
        for _ in range(runs):
            backend.infer(x)
            unprofiled.append(backend.last_inference_ms)
        info = backend.describe()
    return {'format': RESULT_FORMAT, 'backend': 'chainer', 'model': model,
            'device': info['device'], 'weights': weights,
            'timing': 'cuda events per function' if cupy is not None else
                      'time.perf_counter per function',
            'runs': records, 'unprofiled_ms': unprofiled}


def chainer_layers(raw):
    """Normalised layers from :func:`record_chainer`'s records: mean ms per call position.

    A layer is named after the link whose parameters it reads (``/fire2/squeeze``) or, for
    parameter-free functions, ``<Function>_<n>`` counted per function type in call order.
    """
    runs = raw['runs']
    if not runs:
        raise ClassifierError('chainer profile has no recorded runs')
    first = runs[0]['calls']
    for index, run in enumerate(runs):
        if [c[0] for c in run['calls']] != [c[0] for c in first]:
            raise ClassifierError('chainer forward %d called different functions than forward 0 '
                                  '(%d vs %d calls)' % (index, len(run['calls']), len(first)))
    counters = {}
    seen = {}
    layers = []
    for position, (op, link, _ms) in enumerate(first):
        if link:
            seen[link] = seen.get(link, 0) + 1
            name = link if seen[link] == 1 else '%s#%d' % (link, seen[link])
        else:
            counters[op] = counters.get(op, 0)
            name = '%s_%d' % (op, counters[op])
            counters[op] += 1
        mean = sum(float(run['calls'][position][2]) for run in runs) / len(runs)
        kind = layer_kind(op)
        layers.append(_layer(name, op, kind, mean, [name], [kind]))
    wall = sum(float(run['wall_ms']) for run in runs) / len(runs)
    return {'layers': layers, 'wall_ms': wall, 'executed_per_run': [len(r['calls']) for r in runs]}


# -- ONNX Runtime --------------------------------------------------------------------------------

def onnx_graph_summary(model_proto):
    """Return what :func:`ort_fusion_map` needs from an ONNX graph (JSON-serialisable)."""
    nodes = []
    for node in model_proto.graph.node:
        entry = {'name': node.name, 'op': node.op_type, 'inputs': list(node.input),
                 'outputs': list(node.output)}
        if node.domain:
            entry['domain'] = node.domain
        for attr in node.attribute:
            if attr.name == 'activation' and attr.s:
                entry['activation'] = attr.s.decode('utf-8', 'replace')
        nodes.append(entry)
    return {'nodes': nodes, 'initializers': [i.name for i in model_proto.graph.initializer]}


def _ort_needs(node):
    """Original op types an executed ORT node must contain: [(op types, direction), ...]."""
    op = node['op']
    primary = {'Conv': ('Conv',), 'FusedConv': ('Conv',), 'Gemm': ('Gemm', 'MatMul'),
               'FusedGemm': ('Gemm', 'MatMul'), 'FusedMatMul': ('MatMul',)}.get(op, (op,))
    needs = [(primary, 'up')]
    conv_like = op in ('Conv', 'FusedConv')
    if conv_like and len(node['inputs']) >= 4 and node['inputs'][3] and (
            op == 'FusedConv' or node.get('domain') == 'com.microsoft.nchwc'):
        needs.append((('Add', 'Sum'), 'down'))  # NCHWc Sum / FusedConv Z input
    if node.get('activation'):
        needs.append(((node['activation'],), 'down'))
    return needs


def ort_fusion_map(original, optimized):
    """Map each executed (optimised) ORT node to the exported ONNX nodes it implements.

    ``original`` / ``optimized`` are :func:`onnx_graph_summary` dicts. Returns
    ``({optimized node name: [original node names, in graph order]}, [original nodes that no
    executed node implements: folded away or eliminated])``. Evidence, in order: the node's name
    (``ReLU_3_nchwc`` keeps ``ReLU_3``), the exported initializers it reads (also under ORT's
    derived names such as ``ConvBnFusion_BN_B_<name>``), then what its operator and attributes say
    it contains (a Conv that lost its weight name to a layout reorder is the producer of its fused
    BatchNormalization; ``activation=Relu`` and an NCHWc ``Sum`` input claim the Add and Relu that
    follow), searched through unclaimed neighbours only. Original nodes are handled by position
    (onnx_chainer gives a Reshape and its shape Constant the same name).
    """
    nodes = original['nodes']
    by_name = {}
    producer = {}
    consumers = {}
    for i, n in enumerate(nodes):
        by_name.setdefault(n['name'], []).append(i)
        for t in n['outputs']:
            producer[t] = i
        for t in n['inputs']:
            consumers.setdefault(t, []).append(i)
    inits = set(original.get('initializers', ()))
    init_user = {t: users[0] for t, users in consumers.items()
                 if t in inits and len(users) == 1}
    owner = {}
    groups = {n['name']: [] for n in optimized['nodes']}

    def claim(group, index):
        if index not in owner:
            owner[index] = group
            groups[group].append(index)

    for node in optimized['nodes']:  # 1. names
        for part in re.split(r'[^A-Za-z0-9_.]+', node['name']):
            tokens = part.split('_')
            i = 0
            while i < len(tokens):
                for j in range(len(tokens), i, -1):
                    if '_'.join(tokens[i:j]) in by_name:
                        for index in by_name['_'.join(tokens[i:j])]:
                            claim(node['name'], index)
                        i = j - 1
                        break
                i += 1
    for node in optimized['nodes']:  # 2. initializers, also under derived names
        for tensor in node['inputs']:
            pieces = tensor.split('_')
            for i in range(len(pieces)):
                user = init_user.get('_'.join(pieces[i:]))
                if user is not None:
                    claim(node['name'], user)
                    break
    for node in optimized['nodes']:  # 3. what the operator says it contains
        group = node['name']
        for wanted, direction in _ort_needs(node):
            if any(nodes[m]['op'] in wanted for m in groups[group]):
                continue
            for index in _search(groups[group], wanted, direction, nodes, producer, consumers,
                                 owner):
                claim(group, index)
    result = {}
    for group, members in groups.items():
        result[group] = _unique(nodes[i]['name'] for i in sorted(members))
    removed = _unique(n['name'] for i, n in enumerate(nodes) if i not in owner)
    return result, removed


def _unique(names):
    out = []
    for name in names:
        if name not in out:
            out.append(name)
    return out


def _search(members, wanted, direction, nodes, producer, consumers, owner, depth=3):
    """Shortest path from ``members`` through unclaimed nodes to one whose op is in ``wanted``."""
    frontier = [(m, []) for m in members]
    visited = set(members)
    for _ in range(depth):
        following = []
        for index, path in frontier:
            node = nodes[index]
            if direction == 'up':
                nxt = [producer[t] for t in node['inputs'] if t in producer]
            else:
                nxt = [c for t in node['outputs'] for c in consumers.get(t, ())]
            for other in nxt:
                if other in visited or other in owner:
                    continue
                visited.add(other)
                if nodes[other]['op'] in wanted:
                    return path + [other]
                following.append((other, path + [other]))
        frontier = following
    return []


def parse_ort_trace(events, skip_runs=1):
    """Per-node mean times from an ONNX Runtime profile trace (list of Chrome-trace events).

    Runs are the ``model_run`` events; the first ``skip_runs`` (the warm-up) are dropped. Returns
    ``{'nodes': [{'name', 'op', 'provider', 'ms'}] (first kept run's order), 'wall_ms' (mean
    model_run), 'runs', 'executed_per_run'}``.
    """
    runs = sorted((e for e in events if e.get('cat') == 'Session' and
                   e.get('name') == 'model_run'), key=lambda e: e['ts'])
    if len(runs) <= skip_runs:
        raise ClassifierError('ONNX Runtime profile has %d model_run events; need more than %d '
                              '(warm-up)' % (len(runs), skip_runs))
    kept = runs[skip_runs:]
    totals = {}
    info = {}
    order = []
    executed = [0] * len(kept)
    for event in events:
        name = str(event.get('name', ''))
        if event.get('cat') != 'Node' or not name.endswith('_kernel_time'):
            continue
        index = None
        for i, run in enumerate(kept):
            if run['ts'] <= event['ts'] <= run['ts'] + run['dur']:
                index = i
                break
        if index is None:
            continue
        node = name[:-len('_kernel_time')]
        if node not in totals:
            totals[node] = 0.0
            args = event.get('args', {})
            info[node] = (str(args.get('op_name', '')), str(args.get('provider', '')))
            order.append(node)
        totals[node] += float(event['dur']) / 1000.0
        executed[index] += 1
    if not order:
        raise ClassifierError('ONNX Runtime profile has no "<node>_kernel_time" Node events')
    nodes = [{'name': n, 'op': info[n][0], 'provider': info[n][1], 'ms': totals[n] / len(kept)}
             for n in order]
    wall = sum(float(r['dur']) for r in kept) / 1000.0 / len(kept)
    return {'nodes': nodes, 'wall_ms': wall, 'runs': len(kept), 'executed_per_run': executed}


def ort_layers(trace, original=None, optimized=None):
    """Normalised layers from :func:`parse_ort_trace` output and, where given, the two graphs."""
    groups, removed = {}, []
    opt_nodes = {}
    orig_ops = {}
    if original is not None and optimized is not None:
        groups, removed = ort_fusion_map(original, optimized)
        opt_nodes = {n['name']: n for n in optimized['nodes']}
        for n in original['nodes']:  # a name shared with a Constant means the other node
            if orig_ops.get(n['name'], 'Constant') == 'Constant':
                orig_ops[n['name']] = n['op']
    layers = []
    for node in trace['nodes']:
        graph_node = opt_nodes.get(node['name'], {})
        op = node['op'] or graph_node.get('op', '')
        sources = groups.get(node['name'], [])
        source_kinds = [layer_kind(orig_ops[s]) for s in sources]
        kind = layer_kind(op)
        if op == 'FusedConv':
            op_label = 'FusedConv'
        elif graph_node.get('domain') == 'com.microsoft.nchwc':
            op_label = 'nchwc.' + op
        else:
            op_label = op
        extras = []
        if graph_node.get('activation'):
            extras.append('activation=' + graph_node['activation'])
        if any(k == 'add' for k in source_kinds) and kind != 'add':
            extras.append('sum')
        if extras:
            op_label += '[%s]' % ','.join(extras)
        layers.append(_layer(node['name'], op_label, kind, node['ms'], sources, source_kinds,
                             provider=node['provider']))
    return layers, removed


def _ort_optimized_graph(onnx_path, session, log):
    """Save the graph ``session`` runs (same providers, level, threads) from a second session."""
    import onnx
    import onnxruntime
    used = session.get_session_options()
    tmp = tempfile.mkdtemp(prefix='trt_classifier_ort_graph_')
    try:
        opts = onnxruntime.SessionOptions()
        opts.graph_optimization_level = used.graph_optimization_level
        opts.intra_op_num_threads = used.intra_op_num_threads
        opts.log_severity_level = 3  # the NCHWc "hardware specific" serialisation warning
        opts.optimized_model_filepath = os.path.join(tmp, 'optimized.onnx')
        opts.add_session_config_entry(
            'session.optimized_model_external_initializers_file_name', 'optimized.bin')
        opts.add_session_config_entry(
            'session.optimized_model_external_initializers_min_size_in_bytes', '1024')
        options = session.get_provider_options()
        providers = [(p, options.get(p, {})) for p in session.get_providers()]
        onnxruntime.InferenceSession(onnx_path, opts, providers=providers)
        return onnx_graph_summary(onnx.load(opts.optimized_model_filepath,
                                            load_external_data=False))
    except Exception as exc:  # a provider that cannot serialise its graph: names only then
        log.warning('cannot save the optimised ONNX Runtime graph (%s); fused nodes are shown '
                    'without their sources' % exc)
        return None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def record_onnxruntime(model, device='cpu', runs=10, weights='random', cache_dir=None, log=None,
                       batch=None, graphs=True):
    """Profile 1 warm-up + ``runs`` runs with ONNX Runtime's profiler; then ``runs`` plain runs.

    Returns ``{'events': the profiler's trace, 'original', 'optimized' (graph summaries or None),
    'unprofiled_ms', 'providers'}``. The trace file is written to a temporary directory and
    removed; the unprofiled runs follow ``end_profiling()`` on the same session.
    """
    import onnx
    from trt_classifier.backends import create_backend
    runs = _check_runs(runs)
    log = log or logging.getLogger(__name__)
    tmp = tempfile.mkdtemp(prefix='trt_classifier_ort_profile_')
    try:
        backend = create_backend('onnxruntime', model, weights=weights, device=device,
                                 cache_dir=cache_dir, log=log,
                                 options={'profile_prefix': os.path.join(tmp, 'ort')})
        with backend:
            x = _input_batch(model) if batch is None else batch
            for _ in range(1 + runs):
                backend.infer(x)
            trace_path = backend.session.end_profiling()
            with open(trace_path) as f:
                events = json.load(f)
            unprofiled = []
            for _ in range(runs):
                backend.infer(x)
                unprofiled.append(backend.last_inference_ms)
            original = optimized = None
            if graphs:
                original = onnx_graph_summary(onnx.load(backend.onnx.path))
                optimized = _ort_optimized_graph(backend.onnx.path, backend.session, log)
            providers = backend.session.get_providers()
            info = backend.describe()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {'format': RESULT_FORMAT, 'backend': 'onnxruntime', 'model': model,
            'device': info['device'], 'weights': weights, 'providers': providers,
            'timing': 'ONNX Runtime profiler (Node kernel_time events)', 'events': events,
            'original': original, 'optimized': optimized, 'unprofiled_ms': unprofiled}


# -- TensorRT ------------------------------------------------------------------------------------

def record_tensorrt(model, device='gpu', runs=10, weights='random', cache_dir=None, log=None,
                    batch=None):
    """Run ``runs`` plain inferences (wall time), then ``TensorRTBackend.profile(runs)``."""
    from trt_classifier.backends import create_backend
    runs = _check_runs(runs)
    backend = create_backend('tensorrt', model, weights=weights, device=device,
                             cache_dir=cache_dir, log=log)
    with backend:
        x = _input_batch(model) if batch is None else batch
        backend.infer(x)  # warm-up
        unprofiled = []
        for _ in range(runs):
            backend.infer(x)
            unprofiled.append(backend.last_inference_ms)
        result = backend.profile(runs)
        info = backend.describe()
    return {'format': RESULT_FORMAT, 'backend': 'tensorrt', 'model': model,
            'device': info['device'], 'weights': weights, 'tensorrt': info.get('tensorrt'),
            'precision': info.get('precision'),
            'timing': 'TensorRT IProfiler over execute_v2', 'profile': result,
            'unprofiled_ms': unprofiled}


# -- the common result ---------------------------------------------------------------------------

def _layer(name, op, kind, ms, sources, source_kinds, provider=None):
    layer = {'name': name, 'op': op, 'kind': kind, 'ms': float(ms), 'sources': list(sources),
             'fused': len(sources) > 1}
    if len(sources) > 1:
        layer['pattern'] = fusion_pattern(source_kinds)
    if provider:
        layer['provider'] = provider
    return layer


def summarise(layers, wall_ms):
    """Compute the common fields from normalised layers and the profiled forward's wall time.

    ``grouping[kind] = {'count', 'ms', 'share'}`` (share of the layer sum); ``idle_ms = wall_ms -
    layer_ms_sum`` (time in no reported layer: dispatch, gaps, profiler bookkeeping; negative only
    where the wall clock came from a different run than the layer times) and ``idle_share =
    max(idle, 0) / wall`` in [0, 1].
    """
    total = sum(layer['ms'] for layer in layers)
    for layer in layers:
        layer['share'] = layer['ms'] / total if total > 0 else 0.0
    grouping = {}
    for kind in KINDS:
        members = [layer for layer in layers if layer['kind'] == kind]
        if members:
            ms = sum(layer['ms'] for layer in members)
            grouping[kind] = {'count': len(members), 'ms': ms,
                              'share': ms / total if total > 0 else 0.0}
    fusions = {}
    for layer in layers:
        if layer.get('pattern'):
            fusions[layer['pattern']] = fusions.get(layer['pattern'], 0) + 1
    wall = float(wall_ms) if wall_ms is not None else None
    idle = wall - total if wall is not None else None
    share = None
    if wall:
        share = min(1.0, max(idle, 0.0) / wall)
    return {'layers': layers, 'executed_layers': len(layers),
            'fused_layers': sum(1 for layer in layers if layer['fused']),
            'grouping': grouping, 'fusions': fusions, 'wall_ms': wall, 'layer_ms_sum': total,
            'idle_ms': idle, 'idle_share': share}


def from_raw(raw):
    """Return the normalised result of a ``record_*`` dict (what :func:`profile` returns)."""
    backend = raw['backend']
    extra = {}
    notes = []
    if backend == 'chainer':
        parsed = chainer_layers(raw)
        layers, wall = parsed['layers'], parsed['wall_ms']
        notes.append("wall_ms is the mean hooked forward; the hook's own Python work counts as "
                     'idle. wall_unprofiled_ms is without the hook.')
    elif backend == 'onnxruntime':
        trace = parse_ort_trace(raw['events'])
        layers, removed = ort_layers(trace, raw.get('original'), raw.get('optimized'))
        wall = trace['wall_ms']
        extra.update(providers=raw.get('providers'), removed_nodes=removed,
                     executed_per_run=trace['executed_per_run'])
        if raw.get('optimized') is None:
            notes.append('optimised graph unavailable: sources not resolved')
        notes.append("wall_ms is the mean profiled model_run (ONNX Runtime's own span); "
                     'wall_unprofiled_ms is session.run from Python after profiling ended.')
    elif backend == 'tensorrt':
        prof = raw['profile']
        layers = trt_layers(prof, prof.get('inspector'))
        wall = _mean(raw['unprofiled_ms'])
        extra.update(tensorrt=raw.get('tensorrt'), precision=raw.get('precision'),
                     inspector=prof.get('inspector') is not None)
        notes.append('layer times come from a separate execute_v2 profiling run; wall_ms is '
                     'infer() (input upload, execution, output download) without the profiler.')
    else:
        raise ClassifierError('cannot profile backend %r; profiled backends: %s' % (
            backend, ', '.join(PROFILED_BACKENDS)))
    result = {'format': RESULT_FORMAT, 'model': raw['model'], 'backend': backend,
              'device': raw['device'], 'weights': raw.get('weights'),
              'runs': len(raw['unprofiled_ms']), 'timing': raw.get('timing'),
              'wall_unprofiled_ms': _mean(raw['unprofiled_ms'])}
    result.update(summarise(layers, wall))
    result.update(extra)
    result['notes'] = notes
    return result


def profile(model, backend, device='cpu', runs=10, weights='random', cache_dir=None, log=None):
    """Profile ``runs`` forwards of ``model`` (batch 1, fixed random input) on ``backend``.

    Returns a JSON-serialisable dict: ``model``, ``backend``, ``device``, ``runs``, ``timing``,
    ``machine``; ``layers`` (executed layers in order: ``name``, ``op``, ``kind``, ``ms`` mean per
    forward, ``share`` of the layer sum, ``sources`` the original layers fused into it, ``fused``,
    ``pattern`` such as ``'conv+bn+activation'``); ``executed_layers``, ``fused_layers``,
    ``grouping`` (kind -> count, ms, share), ``fusions`` (pattern -> count); ``wall_ms`` (profiled
    forward), ``wall_unprofiled_ms``, ``layer_ms_sum``, ``idle_ms``, ``idle_share``; ``notes``.
    """
    log = log or logging.getLogger(__name__)
    if backend not in PROFILED_BACKENDS:
        raise ClassifierError('cannot profile backend %r; profiled backends: %s' % (
            backend, ', '.join(PROFILED_BACKENDS)))
    recorder = {'chainer': record_chainer, 'onnxruntime': record_onnxruntime,
                'tensorrt': record_tensorrt}[backend]
    log.info('profiling %s on %s (%s), %d runs' % (model, backend, device, _check_runs(runs)))
    start = time.perf_counter()
    raw = recorder(model, device=device, runs=runs, weights=weights, cache_dir=cache_dir,
                   log=log)
    result = from_raw(raw)
    result['machine'] = machine_info()
    log.info('profiled %s on %s in %.1f s' % (model, backend, time.perf_counter() - start))
    return result


def machine_info():
    versions = {}
    for module in ('numpy', 'chainer', 'cupy', 'onnxruntime', 'onnx', 'tensorrt'):
        if module in sys.modules:
            versions[module] = str(getattr(sys.modules[module], '__version__', '?'))
    return {'platform': platform.platform(), 'machine': platform.machine(),
            'processor': platform.processor() or _cpu_model(), 'cpus': os.cpu_count(),
            'python': platform.python_version(), 'versions': versions}


def _cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return ''


def _check_runs(runs):
    try:
        value = int(runs)
    except (TypeError, ValueError):
        value = 0
    if value < 1 or str(value) != str(runs).strip():
        raise ClassifierError('runs must be a whole number >= 1, not %r' % (runs,))
    return value


def _mean(values):
    values = [float(v) for v in values]
    return sum(values) / len(values) if values else None


def _input_batch(model):
    import numpy
    from trt_classifier.models import get_spec
    size = get_spec(model).input_size
    return numpy.random.RandomState(0).standard_normal((1, 3, size, size)).astype(numpy.float32)


# -- views ---------------------------------------------------------------------------------------

def _ms(value):
    return '-' if value is None else '%.2f' % value


def _pct(value):
    return '-' if value is None else '%.1f%%' % (100.0 * value)


def _table(rows, right=()):
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [str(c).rjust(widths[i]) if i in right else str(c).ljust(widths[i])
                 for i, c in enumerate(row)]
        lines.append('  '.join(cells).rstrip())
        if n == 0:
            lines.append('  '.join('-' * w for w in widths))
    return lines


def _headline(result):
    return ('%s on %s (%s), %d runs, weights %s; timing: %s' % (
        result['model'], result['backend'], result['device'], result['runs'],
        result.get('weights'), result.get('timing')))


def render_table(result, top=15):
    """Return a text report of one profile: summary, per-kind grouping, fusions, top layers."""
    lines = [_headline(result)]
    lines.append('forward %s ms profiled (%s ms unprofiled); layers %s ms; idle %s ms (%s of the '
                 'forward); %d layers executed per forward, %d of them fused' % (
                     _ms(result['wall_ms']), _ms(result['wall_unprofiled_ms']),
                     _ms(result['layer_ms_sum']), _ms(result['idle_ms']),
                     _pct(result['idle_share']), result['executed_layers'],
                     result['fused_layers']))
    lines.append('')
    rows = [('kind', 'layers', 'ms/forward', 'of layers', 'of forward')]
    wall = result['wall_ms'] or 0.0
    for kind in KINDS:
        group = result['grouping'].get(kind)
        if group:
            rows.append((KIND_LABELS.get(kind, kind), group['count'], _ms(group['ms']),
                         _pct(group['share']), _pct(group['ms'] / wall if wall else None)))
    if result['idle_ms'] is not None:
        rows.append(('(idle)', '', _ms(result['idle_ms']), '', _pct(result['idle_share'])))
    lines.extend(_table(rows, right=(1, 2, 3, 4)))
    if result['fusions']:
        lines.append('')
        lines.append('fused layers: ' + ', '.join(
            '%s x%d' % (p, n) for p, n in sorted(result['fusions'].items(),
                                                 key=lambda item: (-item[1], item[0]))))
        example = {}
        for layer in result['layers']:
            if layer.get('pattern') and layer['pattern'] not in example:
                example[layer['pattern']] = layer
        for pattern, layer in sorted(example.items()):
            lines.append('  e.g. %s = %s' % (layer['name'], ' + '.join(layer['sources'])))
    if result.get('removed_nodes'):
        lines.append('original nodes no executed node implements (folded away): %d (%s)' % (
            len(result['removed_nodes']), ', '.join(result['removed_nodes'][:6]) +
            (', ...' if len(result['removed_nodes']) > 6 else '')))
    lines.append('')
    lines.append('slowest %d layers:' % min(top, len(result['layers'])))
    rows = [('layer', 'op', 'kind', 'ms', 'share', 'sources')]
    for layer in sorted(result['layers'], key=lambda item: -item['ms'])[:top]:
        sources = ' + '.join(layer['sources']) if layer['fused'] else ''
        rows.append((layer['name'], layer['op'], layer['kind'], _ms(layer['ms']),
                     _pct(layer['share']), sources))
    lines.extend(_table(rows, right=(3, 4)))
    return '\n'.join(lines)


def compare(results):
    """Side-by-side view of several backends' profiles of one model."""
    if not results:
        raise ClassifierError('compare needs at least one profile')
    models = sorted({r['model'] for r in results})
    if len(models) != 1:
        raise ClassifierError('compare shows one model at a time, got %s' % ', '.join(models))
    heads = ['%s (%s)' % (r['backend'], r['device']) for r in results]
    lines = ['%s: %s, %s runs each' % (models[0], ' vs '.join(heads),
                                       '/'.join(str(r['runs']) for r in results))]
    rows = [[''] + heads]
    rows.append(['forward ms (profiled)'] + [_ms(r['wall_ms']) for r in results])
    rows.append(['forward ms (unprofiled)'] + [_ms(r['wall_unprofiled_ms']) for r in results])
    rows.append(['layer sum ms'] + [_ms(r['layer_ms_sum']) for r in results])
    rows.append(['idle ms (share)'] + ['%s (%s)' % (_ms(r['idle_ms']), _pct(r['idle_share']))
                                       for r in results])
    rows.append(['executed layers'] + [str(r['executed_layers']) for r in results])
    rows.append(['fused layers'] + [str(r['fused_layers']) for r in results])
    lines.extend(_table(rows, right=range(1, len(heads) + 1)))
    lines.append('')
    rows = [['kind: layers / ms (share)'] + heads]
    for kind in KINDS:
        if not any(kind in r['grouping'] for r in results):
            continue
        row = [KIND_LABELS.get(kind, kind)]
        for r in results:
            g = r['grouping'].get(kind)
            row.append('%d / %s (%s)' % (g['count'], _ms(g['ms']), _pct(g['share']))
                       if g else '-')
        rows.append(row)
    lines.extend(_table(rows, right=range(1, len(heads) + 1)))
    lines.append('')
    for head, r in zip(heads, results):
        fusions = ', '.join('%s x%d' % (p, n) for p, n in sorted(
            r['fusions'].items(), key=lambda item: (-item[1], item[0])))
        lines.append('fusions %s: %s' % (head, fusions or 'none (one layer per operation)'))
    return '\n'.join(lines)


def save(result, output_dir):
    """Write ``<model>-<backend>-<device>.json`` and a ``.png`` bar chart; return their paths."""
    try:
        os.makedirs(output_dir, exist_ok=True)
    except OSError as exc:
        raise ClassifierError('cannot create the output directory %s: %s' % (
            output_dir, exc.strerror or exc)) from exc
    base = os.path.join(output_dir, '%s-%s-%s' % (
        result['model'], result['backend'], re.sub(r'[^A-Za-z0-9]+', '', result['device'])))
    json_path = base + '.json'
    with open(json_path, 'w') as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write('\n')
    png_path = base + '.png'
    _plot(result, png_path)
    return [json_path, png_path]


_COLOURS = {'conv': '#1f77b4', 'bn': '#9467bd', 'activation': '#ff7f0e', 'add': '#2ca02c',
            'concat': '#d62728', 'pool': '#8c564b', 'fc': '#e377c2', 'softmax': '#bcbd22',
            'other': '#7f7f7f', 'idle': '#c7c7c7'}


def _plot(result, path, top=20):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(11, 6.5))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2, gridspec_kw={'width_ratios': [1, 1.6]})
    kinds = [k for k in KINDS if k in result['grouping']]
    values = [result['grouping'][k]['ms'] for k in kinds]
    labels = ['%s (%d)' % (k, result['grouping'][k]['count']) for k in kinds]
    if result['idle_ms'] is not None:
        kinds.append('idle')
        values.append(max(result['idle_ms'], 0.0))
        labels.append('idle')
    left.barh(range(len(values)), values, color=[_COLOURS[k] for k in kinds])
    left.set_yticks(range(len(values)))
    left.set_yticklabels(labels)
    left.invert_yaxis()
    left.set_xlabel('ms per forward')
    left.set_title('by kind (forward %s ms)' % _ms(result['wall_ms']))
    layers = sorted(result['layers'], key=lambda item: -item['ms'])[:top]
    names = [('* ' if layer['fused'] else '') + layer['name'][-40:] for layer in layers]
    right.barh(range(len(layers)), [layer['ms'] for layer in layers],
               color=[_COLOURS[layer['kind']] for layer in layers])
    right.set_yticks(range(len(layers)))
    right.set_yticklabels(names, fontsize=7)
    right.invert_yaxis()
    right.set_xlabel('ms per forward')
    right.set_title('slowest %d layers (* fused)' % len(layers))
    fig.suptitle('%s / %s (%s): %d layers, idle %s' % (
        result['model'], result['backend'], result['device'], result['executed_layers'],
        _pct(result['idle_share'])))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
