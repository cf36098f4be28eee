# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Benchmark results: per-frame samples -> statistics, the study's table, JSON/CSV/PNG files."""

import collections
import csv
import datetime
import io
import json
import os
import time

from trt_classifier.errors import ClassifierError
from trt_classifier.stats import STAT_KEYS, summarize

SCHEMA = 'trt_classifier.bench/1'
BACKEND_TITLES = collections.OrderedDict([
    ('chainer', 'Chainer'), ('tensorrt', 'TensorRT'), ('onnxruntime', 'ONNX Runtime'),
    ('null', 'null (harness)')])
METRICS = ('inference_ms', 'preprocess_ms', 'total_ms', 'roundtrip_ms')


class Run(object):
    """The samples of one (model, backend) pair, or the reason it has none."""

    def __init__(self, model, backend, error=''):
        self.model, self.backend, self.error = model, backend, error
        self.samples = []
        self.info = {}
        self.memory = {}  # see memory_record()
        self.created = time.monotonic()
        self.open_loop = None  # openloop.summarize_run() of an open-loop run
        self.rate_search = None  # openloop.find_max_rate()
        self.resources = None  # CPU, memory, GPU and energy during the run

    def add(self, frame_index, result, roundtrip_ms, extra=()):
        self.samples.append(collections.OrderedDict([
            ('frame', frame_index), ('inference_ms', result['inference_ms']),
            ('preprocess_ms', result['preprocess_ms']), ('total_ms', result['total_ms']),
            ('roundtrip_ms', roundtrip_ms), ('top1', result['index']),
            ('label', result['label']), ('score', result['score'])] + list(extra)))

    def mean(self, metric):
        values = [s[metric] for s in self.samples]
        return sum(values) / len(values) if values else float('nan')

    def to_dict(self):
        stats = collections.OrderedDict(
            (m, summarize([s[m] for s in self.samples])) for m in METRICS)
        overhead = [s['roundtrip_ms'] - s['inference_ms'] for s in self.samples]
        stats['overhead_ms'] = summarize(overhead)
        if self.samples and 'age_ms' in self.samples[0]:  # open loop: capture stamp -> result
            stats['age_ms'] = summarize([s['age_ms'] for s in self.samples])
        out = collections.OrderedDict([
            ('model', self.model), ('backend', self.backend), ('error', self.error),
            ('info', self.info), ('memory', self.memory), ('stats', stats)])
        for key in ('open_loop', 'rate_search', 'resources'):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out['samples'] = self.samples
        return out


MEMORY_KEYS = ('process_peak_rss_mb', 'rss_mb', 'load_peak_rss_mb', 'export_peak_rss_mb')


def memory_record(values, loaded):
    """Memory facts of one run from a classifier's diagnostics ``values`` and its ``loaded``.

    process_peak_rss_mb: the classifier process's peak RSS since it started; rss_mb: resident
    after the run; load_peak_rss_mb: the peak of loading this model (the ONNX export and the
    TensorRT engine build included when they ran then); export_peak_rss_mb: the export alone
    (onnxruntime backend, when it exported).
    """
    def number(value):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return None
        return value if value == value else None

    steps = loaded.get('steps', {}) if isinstance(loaded, dict) else {}
    record = collections.OrderedDict([
        ('process_peak_rss_mb', number(values.get('peak_rss_mb'))),
        ('rss_mb', number(values.get('rss_mb')))])
    for key in MEMORY_KEYS[2:]:
        record[key] = number(steps.get(key))
    return record


def top1_agreement(runs, reference='chainer'):
    """Share of frames whose top-1 equals the reference backend's for the same model/frame.

    The benchmark's agreement: classes published over DDS for the same frames. The numeric
    agreement of two backends' logits (relative L2) is ``trt_classifier.agreement``'s.
    """
    out = {}
    by_key = {(r['model'], r['backend']): r for r in runs}
    for run in runs:
        ref = by_key.get((run['model'], reference))
        if run['backend'] in (reference, 'null') or not ref or not ref['samples'] or \
                not run['samples']:
            continue
        ref_top1 = {s['frame']: s['top1'] for s in ref['samples']}
        pairs = [(s['top1'], ref_top1[s['frame']]) for s in run['samples']
                 if s['frame'] in ref_top1]
        if pairs:
            out['%s/%s' % (run['model'], run['backend'])] = \
                sum(1 for a, b in pairs if a == b) / float(len(pairs))
    return out


def build(runs, protocol, environment):
    runs = [r.to_dict() if isinstance(r, Run) else r for r in runs]
    return collections.OrderedDict([
        ('schema', SCHEMA),
        ('created', datetime.datetime.now().isoformat(timespec='seconds')),
        ('protocol', protocol), ('environment', environment), ('runs', runs),
        ('top1_agreement_vs_chainer', top1_agreement(runs))])


def _title(backend, environment=None):
    """Column title; tensorrt names its runtime where the run recorded it (TensorRT-RTX 1.7.1)."""
    if backend == 'tensorrt' and (environment or {}).get('tensorrt_runtime'):
        return environment['tensorrt_runtime']
    return BACKEND_TITLES.get(backend, backend)


def _ordered_backends(runs):
    present = []
    for run in runs:
        if run['backend'] not in present:
            present.append(run['backend'])
    known = [b for b in BACKEND_TITLES if b in present]
    return known + [b for b in present if b not in known]


def _table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    sep = '|' + '|'.join('-' * (w + 2) for w in widths) + '|'
    lines = ['| ' + ' | '.join(str(c).ljust(w) for c, w in zip(cells, widths)) + ' |'
             for cells in [header] + list(rows)]
    return '\n'.join(lines[:1] + [sep] + lines[1:])


def study_table(result):
    """Model | Chainer | TensorRT | ONNX Runtime | ... | Speedup vs Chainer (mean inference ms)."""
    runs, env = result['runs'], result.get('environment')
    backends = [b for b in _ordered_backends(runs) if b != 'null']
    models = []
    for run in runs:
        if run['model'] not in models:
            models.append(run['model'])
    by_key = {(r['model'], r['backend']): r for r in runs}
    from trt_classifier import openloop_report
    searched = any(r.get('rate_search') for r in runs)
    rows = []
    for model in models:
        means = {}
        cells = [model]
        for backend in backends:
            run = by_key.get((model, backend))
            if run is None:
                cells.append('-')
            elif run['samples'] and not run['error']:
                means[backend] = run['stats']['inference_ms']['mean_ms']
                cells.append('%.2f ms' % means[backend])
            elif run['samples']:
                cells.append('error (%d frames)' % len(run['samples']))
            else:
                cells.append('n/a' if run['error'].startswith('unavailable') else 'error')
        if 'chainer' in backends:  # the study's reference; no column without it
            speedups = ['%s %.2fx' % (_title(b, env), means['chainer'] / means[b])
                        for b in backends if b != 'chainer' and b in means and 'chainer' in means]
            cells.append(', '.join(speedups) or '-')
        if searched:
            cells.append(openloop_report.max_rate_cell(
                [r for r in runs if r['model'] == model], _ordered_backends(runs), env))
        rows.append(cells)
    header = ['Model'] + [_title(b, env) for b in backends]
    if 'chainer' in backends:
        header.append('Speedup vs Chainer')
    if searched:
        header.append(openloop_report.max_rate_title(result))
    return _table(header, rows)


def _fmt(spec, value):
    """Format a number; '-' for None/NaN/inf (a saved run stores those as null)."""
    if value is None or value != value or value in (float('inf'), float('-inf')):
        return '-'
    return spec % value


def stats_table(result):
    agree = result.get('top1_agreement_vs_chainer', {})
    rows = []
    for run in result['runs']:
        if not run['samples']:
            continue
        inf = run['stats']['inference_ms']
        key = '%s/%s' % (run['model'], run['backend'])
        rows.append([run['model'], run['backend'], inf['n']] + [
            _fmt('%.2f', inf[k]) for k in ('mean_ms', 'median_ms', 'p90_ms', 'p99_ms', 'std_ms',
                                           'min_ms', 'max_ms')] + [
            _fmt('%.1f', inf['fps']),
            _fmt('%.2f', run['stats']['roundtrip_ms']['mean_ms']),
            _fmt('%.2f', run['stats']['overhead_ms']['mean_ms']),
            '%.0f%%' % (100 * agree[key]) if key in agree else '-'])
    header = ['model', 'backend', 'n', 'mean', 'median', 'p90', 'p99', 'std', 'min', 'max',
              'FPS', 'round trip', 'overhead', 'top-1 = Chainer']
    return _table(header, rows)


def memory_table(result):
    """Peak RSS (MB) of each classifier process and of its load/export/build steps, per run."""
    rows = []
    for run in result['runs']:
        memory = run.get('memory') or {}
        if any(memory.get(k) is not None for k in MEMORY_KEYS):
            rows.append([run['model'], run['backend']] + [
                _fmt('%.0f', memory.get(k)) for k in MEMORY_KEYS])
    if not rows:
        return ''
    header = ['model', 'backend', 'process peak', 'resident', 'load peak', 'export peak']
    return _table(header, rows)


def problems(result):
    """Return one line per run that has an error (unavailable backends once)."""
    lines, seen = [], set()
    for run in result['runs']:
        if not run['error']:
            continue
        if run['error'].startswith('unavailable'):
            if run['backend'] not in seen:
                seen.add(run['backend'])
                lines.append('%s: %s' % (run['backend'], run['error']))
        else:
            lines.append('%s/%s: %s' % (run['model'], run['backend'], run['error']))
    return lines


def precisions_run(result):
    """Return what the backends really ran: 'fp32', or 'fp16 (tensorrt), fp32 (chainer)'."""
    by_precision = collections.OrderedDict()
    for run in result['runs']:
        precision = run.get('info', {}).get('precision')
        if precision and run['samples']:
            names = by_precision.setdefault(precision, [])
            if run['backend'] not in names:
                names.append(run['backend'])
    if not by_precision:
        return result['protocol']['precision']
    if len(by_precision) == 1:
        return list(by_precision)[0]
    return ', '.join('%s (%s)' % (p, ', '.join(b)) for p, b in sorted(by_precision.items()))


def headline(result):
    """Return the table's title; a partial run says how many frames were measured."""
    proto = result['protocol']
    counts = sorted({len(r['samples']) for r in result['runs'] if r['samples']})
    if not counts or counts == [proto['iterations']]:
        runs = 'mean of %d timed runs' % proto['iterations']
    else:
        runs = 'mean of %s timed runs (%d planned%s)' % (
            '-'.join(str(n) for n in sorted({counts[0], counts[-1]})), proto['iterations'],
            '; interrupted' if proto.get('interrupted') else '')
    return 'Inference latency, %s after %d untimed warm-up (ms, batch 1, %s)' % (
        runs, proto['warmup'], precisions_run(result))


def render(result):
    from trt_classifier import openloop_report
    env = result['environment']
    proto = result['protocol']
    lines = [
        openloop_report.headline(result) or headline(result),
        study_table(result), '',
        'All statistics (inference_ms from the node; round trip = bench publish -> result; '
        'overhead = round trip - inference):',
        stats_table(result), ''] + _memory_lines(result) + openloop_report.section(result) + \
        problems(result) + [
        'Machine: %s, %s cores, %s; Python %s, ROS %s; frames %s' % (
            env.get('cpu'), env.get('cpu_count'), env.get('platform'), env.get('python'),
            env.get('ros_distro'), proto.get('frame_size')),
        'Versions: ' + ', '.join('%s %s' % (k, v) for k, v in env.get('versions', {}).items()
                                 if v),
    ]
    for name, facts in sorted(proto.get('model_files', {}).items()):
        lines.append('Model %s: file %s, sha256 %s' % (name, facts.get('file'),
                                                       facts.get('sha256') or '-'))
    if env.get('gpu'):
        lines.append('GPU: %s' % json.dumps(env['gpu']))
    if env.get('jetson'):
        lines.append('Jetson: %s' % json.dumps(env['jetson']))
    return '\n'.join(lines)


def _memory_lines(result):
    table = memory_table(result)
    if not table:
        return []
    mode = 'one classifier node at a time' if result['protocol'].get('sequential') else \
        'one classifier node per backend, all alive'
    return ['Peak memory, RSS in MB (%s; CUDA/TensorRT memory on a Jetson is not in RSS: '
            'see tegrastats):' % mode, table, '']


def save(result, output_dir):
    """Write ``<output_dir>/<timestamp>-<host>/bench.{json,csv,png}``; return the paths."""
    stamp = result['created'].replace(':', '').replace('-', '')
    folder = os.path.join(output_dir, '%s-%s' % (stamp, result['environment'].get('host')))
    os.makedirs(folder, exist_ok=True)
    paths = [os.path.join(folder, 'bench.json'), os.path.join(folder, 'bench.csv')]
    with open(paths[0], 'w') as f:
        json.dump(_finite(result), f, indent=1, allow_nan=False)
    with open(paths[1], 'w') as f:
        f.write(stats_csv(result))
    png = os.path.join(folder, 'bench.png')
    if plot(result, png):
        paths.append(png)
    from trt_classifier import openloop_report
    if openloop_report.has_extras(result):  # open loop, rate search, resources
        paths.append(os.path.join(folder, 'runs.csv'))
        with open(paths[-1], 'w') as f:
            f.write(openloop_report.runs_csv(result))
        png = os.path.join(folder, 'openloop.png')
        if openloop_report.plot(result, png):
            paths.append(png)
    return paths


def _finite(value):
    """NaN/inf -> None, so that bench.json is strict JSON (jq, JavaScript)."""
    if isinstance(value, float) and (value != value or value in (float('inf'), float('-inf'))):
        return None
    if isinstance(value, dict):
        return collections.OrderedDict((k, _finite(v)) for k, v in value.items())
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def stats_csv(result):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(['model', 'backend', 'metric', 'error'] + list(STAT_KEYS))
    for run in result['runs']:
        if not run['samples']:
            writer.writerow([run['model'], run['backend'], '', run['error']])
            continue
        for metric, stats in run['stats'].items():
            writer.writerow([run['model'], run['backend'], metric, ''] +
                            [stats[k] for k in STAT_KEYS])
    return out.getvalue()


def pyplot():
    """matplotlib.pyplot with the file-only Agg backend, or None where matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def plot(result, path):
    """Plot per-frame inference traces (what rqt_plot shows live) and distributions.

    Return False where matplotlib is missing.
    """
    plt = pyplot()
    if plt is None:
        return False
    runs = [r for r in result['runs'] if r['samples']]
    models = []
    for run in runs:
        if run['model'] not in models:
            models.append(run['model'])
    if not models:
        return False
    fig, axes = plt.subplots(len(models), 2, figsize=(12, 3 * len(models)), squeeze=False)
    for row, model in enumerate(models):
        mine = [r for r in runs if r['model'] == model]
        for run in mine:
            values = [s['inference_ms'] for s in run['samples']]
            axes[row][0].plot(values, label=_title(run['backend']), linewidth=1)
        axes[row][0].set_title('%s: inference_ms per frame' % model)
        axes[row][0].set_xlabel('frame')
        axes[row][0].set_ylabel('ms')
        axes[row][0].legend(fontsize=8)
        axes[row][1].boxplot([[s['inference_ms'] for s in r['samples']] for r in mine])
        axes[row][1].set_xticks(range(1, len(mine) + 1))
        axes[row][1].set_xticklabels([_title(r['backend']) for r in mine])
        axes[row][1].set_title('%s: distribution' % model)
        axes[row][1].set_ylabel('ms')
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def load(path):
    """Read a saved bench.json; raise ClassifierError naming the file if it is not one."""
    try:
        with open(path) as f:
            result = json.load(f)
    except (OSError, ValueError) as exc:
        raise ClassifierError('cannot read %s: %s' % (path, exc)) from exc
    if not isinstance(result, dict) or result.get('schema') != SCHEMA:
        raise ClassifierError('%s is not a trt_classifier benchmark result (schema %r)' % (
            path, result.get('schema') if isinstance(result, dict) else None))
    return result


def compare(results, names):
    """Mean inference ms of each (model, backend) across several saved runs."""
    keys = []
    for result in results:
        for run in result['runs']:
            key = (run['model'], run['backend'])
            if key not in keys:
                keys.append(key)
    rows = []
    for model, backend in keys:
        cells = [model, backend]
        for result in results:
            run = [r for r in result['runs'] if (r['model'], r['backend']) == (model, backend)]
            cells.append('%.2f' % run[0]['stats']['inference_ms']['mean_ms']
                         if run and run[0]['samples'] else '-')
        rows.append(cells)
    machines = ['%s: %s, %s (%s)' % (n, r['environment'].get('host'), r['environment'].get('cpu'),
                                     r.get('created')) for n, r in zip(names, results)]
    from trt_classifier import openloop_report
    extra = openloop_report.compare(results, names)
    return (_table(['model', 'backend'] + names, rows) + '\n\n' +
            (extra + '\n\n' if extra else '') + '\n'.join(machines))
