# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""ONNX Runtime's profiler trace and optimised graph -> normalised layers (no onnxruntime here).

The recorder is ``OnnxRuntimeBackend.record_layers``: ONNX Runtime's built-in profiler
(``SessionOptions.enable_profiling``; the JSON trace's ``cat: Node`` events named
``<node>_kernel_time``, per run between ``model_run`` events), and the optimised graph ONNX
Runtime executes, saved from a second session with the same providers and optimisation level.
Here each executed node is mapped back to the exported ONNX nodes it replaced (its name, the
initializers it reads, its ``activation`` attribute and fused ``Sum`` input): with
``ORT_ENABLE_ALL`` on x86 Conv+BatchNormalization+Add+Relu become one NCHWc ``Conv`` node, the
CPU analogue of the study's TensorRT fusions. Times of CUDA-provider nodes are host-side launch
times, not GPU kernel times.
"""

import re

from trt_classifier.errors import ClassifierError
from trt_classifier.layer_kinds import layer, layer_kind


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
        layers.append(layer(node['name'], op_label, kind, node['ms'], sources, source_kinds,
                            provider=node['provider']))
    return layers, removed
