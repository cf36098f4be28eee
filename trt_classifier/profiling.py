# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Per-layer profiles of one forward pass: normalised across backends, compared and rendered.

What the study read off the NVIDIA Visual Profiler (which layers ran, how long each took, which
were fused, how much of the forward was idle between kernels), taken from each runtime's own
profiler. Each backend records itself through the backend interface (backends/base.py):
``record_layers(batch, runs)`` returns its raw records and ``layers_from_record(raw)`` turns them
into layers named in one vocabulary (trt_classifier.layer_kinds):

- **chainer**: a function hook per ``FunctionNode`` (backends/chainer_backend.py);
- **onnxruntime**: ONNX Runtime's profiler trace, mapped onto the exported graph through the
  optimised one (backends/onnxruntime_backend.py, backends/onnxruntime_layers.py);
- **tensorrt**: IProfiler over ``execute_v2`` and the engine inspector
  (backends/tensorrt_backend.py; names and reports parsed in trt_utils, docs/TENSORRT.md §4).

Here every result gets the same shape (see :func:`profile`): the executed layers with their
kind, mean time per forward and the original layers fused into them; a per-kind ``grouping``;
the forward wall time and the idle time not spent inside any reported layer. Then the text
table, the side-by-side comparison and the JSON/PNG files.
"""

import json
import logging
import os
import re
import time

from trt_classifier import env_info
from trt_classifier.backends import backend_class, backend_names, create_backend
from trt_classifier.backends.base import Backend
from trt_classifier.errors import ClassifierError
from trt_classifier.layer_kinds import KIND_LABELS, KINDS

RESULT_FORMAT = 1


def profiled_backends():
    """Names of the backends that offer a per-layer profiler."""
    return [name for name in backend_names()
            if backend_class(name).record_layers is not Backend.record_layers]


def _check_backend(backend):
    names = profiled_backends()
    if backend not in names:
        raise ClassifierError('cannot profile backend %r; profiled backends: %s' % (
            backend, ', '.join(names)))


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
    """Return the normalised result of a backend's ``record_layers`` output (see :func:`profile`).

    ``raw`` also names the ``backend``, ``model``, ``device`` and ``weights`` (as
    :func:`record` adds them, and tools/record_profiles.py stores them).
    """
    backend = raw['backend']
    _check_backend(backend)
    layers, wall, extra, notes = backend_class(backend).layers_from_record(raw)
    result = {'format': RESULT_FORMAT, 'model': raw['model'], 'backend': backend,
              'device': raw['device'], 'weights': raw.get('weights'),
              'runs': len(raw['unprofiled_ms']), 'timing': raw.get('timing'),
              'wall_unprofiled_ms': _mean(raw['unprofiled_ms'])}
    result.update(summarise(layers, wall))
    result.update(extra)
    result['notes'] = list(notes)
    return result


def record(model, backend, device='cpu', runs=10, weights='random', cache_dir=None, log=None):
    """Return ``backend``'s raw per-layer records of ``runs`` forwards of ``model``.

    Batch 1, a fixed random input; the raw records plus ``format``, ``backend``, ``model``,
    ``device`` and ``weights``.
    """
    runs = _check_runs(runs)
    _check_backend(backend)
    with create_backend(backend, model, weights=weights, device=device, cache_dir=cache_dir,
                        log=log) as runner:
        raw = runner.record_layers(_input_batch(model), runs)
        info = runner.describe()
    raw.update({'format': RESULT_FORMAT, 'backend': backend, 'model': model,
                'device': info['device'], 'weights': weights})
    return raw


def profile(model, backend, device='cpu', runs=10, weights='random', cache_dir=None, log=None):
    """Profile ``runs`` forwards of ``model`` (batch 1, fixed random input) on ``backend``.

    Returns a JSON-serialisable dict: ``model``, ``backend``, ``device``, ``runs``, ``timing``,
    ``machine`` (env_info.environment()); ``layers`` (executed layers in order: ``name``,
    ``op``, ``kind``, ``ms`` mean per forward, ``share`` of the layer sum, ``sources`` the
    original layers fused into it, ``fused``, ``pattern`` such as ``'conv+bn+activation'``);
    ``executed_layers``, ``fused_layers``, ``grouping`` (kind -> count, ms, share), ``fusions``
    (pattern -> count); ``wall_ms`` (profiled forward), ``wall_unprofiled_ms``,
    ``layer_ms_sum``, ``idle_ms``, ``idle_share``; ``notes``.
    """
    log = log or logging.getLogger(__name__)
    log.info('profiling %s on %s (%s), %d runs' % (model, backend, device, _check_runs(runs)))
    start = time.perf_counter()
    result = from_raw(record(model, backend, device, runs, weights, cache_dir, log))
    result['machine'] = env_info.environment()
    log.info('profiled %s on %s in %.1f s' % (model, backend, time.perf_counter() - start))
    return result


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
