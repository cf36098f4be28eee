# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""The open-loop and resource parts of a benchmark report: tables, runs.csv, openloop.png.

report.py renders the closed-loop study; it calls these functions, which return nothing for a
result that has no open-loop run, rate search or resource figures.
"""

import csv
import io

from trt_classifier.report import _fmt, _table, _title, pyplot

RUN_FIELDS = ('rate_hz', 'achieved_rate_hz', 'duration_s', 'sent', 'received', 'answered',
              'answers_per_s', 'done', 'dropped', 'rejected', 'failed', 'lost_before_node',
              'results_lost', 'unexplained', 'balanced', 'drop_fraction')
AGE_FIELDS = ('median_ms', 'p90_ms', 'p99_ms', 'max_ms')


def has_open_loop(result):
    return any(run.get('open_loop') for run in result['runs'])


def has_extras(result):
    return any(run.get(k) for run in result['runs']
               for k in ('open_loop', 'rate_search', 'resources'))


def headline(result):
    """Return the first line of the report for an open-loop result, else None."""
    proto = result['protocol']
    if not proto.get('rate_hz'):
        return None
    return ('Inference latency of the answered frames, mean, open loop at %s Hz (%s frames per '
            'model and backend; ms, batch 1, %s)' % (
                _fmt('%g', proto['rate_hz']), proto.get('frames_per_run', '?'),
                proto.get('precision')))


def max_rate_cell(runs, backends, environment=None):
    """Return 'Chainer 38.0 Hz, ONNX Runtime 150.0 Hz' for one model's runs."""
    cells = []
    by_backend = {r['backend']: r for r in runs}
    for backend in backends:
        search = (by_backend.get(backend) or {}).get('rate_search')
        if search:
            top = search['max_rate_hz']
            at_bound = top >= search['interval_hz'][1] and top > 0
            cells.append('%s %s%.1f Hz' % (_title(backend, environment), '>= ' if at_bound else '',
                                           top))
    return ', '.join(cells) or '-'


def max_rate_title(result):
    threshold = (result['protocol'].get('rate_search') or {}).get('drop_threshold')
    return 'Max rate (unanswered <= %s%%)' % _fmt('%g', None if threshold is None
                                                  else 100 * threshold)


def _resource_values(run):
    """CPU node, CPU bench, CPU machine (%), peak RSS MB, GPU %, mJ per answer; None if absent."""
    res = run.get('resources') or {}
    procs = res.get('processes') or {}
    proc = procs.get('classifier') or {}
    return [proc.get('cpu_percent'), (procs.get('bench') or {}).get('cpu_percent'),
            (res.get('machine') or {}).get('cpu_percent'), proc.get('peak_rss_mb'),
            (res.get('gpu') or {}).get('util_percent'),
            (res.get('energy') or {}).get('mj_per_answer')]


def _resource_cells(run):
    return [_fmt(spec, value) for spec, value in zip(
        ('%.0f%%', '%.0f%%', '%.0f%%', '%.0f', '%.0f%%', '%.1f'), _resource_values(run))]


RESOURCE_HEADER = ['CPU node', 'CPU bench', 'CPU machine', 'peak RSS MB', 'GPU', 'mJ/answer']
RESOURCE_CSV = ['cpu_node_percent', 'cpu_bench_percent', 'cpu_machine_percent', 'peak_rss_mb',
                'gpu_util_percent', 'mj_per_answer']


def open_loop_table(result):
    rows = []
    for run in result['runs']:
        ol = run.get('open_loop')
        if not ol:
            continue
        age = ol['age_ms']
        rows.append([run['model'], run['backend'],
                     '%s / %s' % (_fmt('%g', ol['rate_hz']), _fmt('%.1f', ol['achieved_rate_hz'])),
                     ol['sent'], _fmt('%d', ol['received']), ol['answered'],
                     _fmt('%.1f', ol['answers_per_s']), _fmt('%d', ol['dropped']),
                     _fmt('%d', ol['rejected']), _fmt('%d', ol['failed']),
                     _fmt('%d', ol['lost_before_node']), _fmt('%d', ol['results_lost'])] +
                    [_fmt('%.1f', age[k]) for k in AGE_FIELDS] +
                    [_fmt('%+.2f', ol['age_trend']['slope_ms_per_s']) +
                     (' GROWING' if ol['age_trend']['growing'] else '')] +
                    _resource_cells(run))
    header = ['model', 'backend', 'Hz asked / sent', 'sent', 'received', 'answered',
              'answers/s', 'dropped', 'rejected', 'failed', 'lost before node', 'results lost',
              'age median', 'age p90', 'age p99', 'age max', 'age trend ms/s'] + RESOURCE_HEADER
    return _table(header, rows)


def resource_table(result):
    """Closed-loop runs with resource figures (open-loop runs show them in their table)."""
    rows = [[run['model'], run['backend']] + _resource_cells(run) for run in result['runs']
            if run.get('resources') and not run.get('open_loop')]
    if not rows:
        return ''
    return _table(['model', 'backend'] + RESOURCE_HEADER, rows)


def section(result):
    """Lines that render() appends: the open-loop table, resources, rate searches."""
    lines = []
    if has_open_loop(result):
        lines += [
            'Open loop: every frame sent is answered, dropped (stale, replaced in the node), '
            'rejected, failed, lost before the node (sent - received) or its result lost '
            '(done - answered). Age = result received by the bench - capture stamp (ms; the '
            'round trip above); trend = fitted slope of the age over the run. CPU: % of one '
            'core for the node and the bench, % of all cores for the machine.',
            open_loop_table(result), '']
        for run in result['runs']:
            ol = run.get('open_loop')
            if ol and ol.get('balanced') is False:
                lines.append('%s/%s: %d frames not accounted for' % (
                    run['model'], run['backend'], ol['unexplained']))
            if ol and ol['age_trend']['growing']:
                lines.append('%s/%s: the age grows over the run (%+.1f ms): a queue is '
                             'building' % (run['model'], run['backend'],
                                           ol['age_trend']['growth_ms']))
    table = resource_table(result)
    if table:
        lines += ['Resources during each run (CPU: % of one core for the node and the bench, '
                  '% of all cores for the machine):', table, '']
    for run in result['runs']:
        search = run.get('rate_search')
        if search:
            lines.append('%s/%s: highest sustained rate %.1f Hz (%s); probes: %s' % (
                run['model'], run['backend'], search['max_rate_hz'], search['bounded_by'],
                ', '.join('%.1f Hz %s' % (p['rate_hz'], 'ok' if p['sustained'] else 'x')
                          for p in search['probes'])))
    return lines


def runs_csv(result):
    """One row per (model, backend): accounting, age, trend, max rate and resources."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(['model', 'backend', 'error'] + list(RUN_FIELDS) +
                    ['age_%s' % k for k in AGE_FIELDS] +
                    ['age_slope_ms_per_s', 'age_growing', 'max_rate_hz'] + RESOURCE_CSV)
    for run in result['runs']:
        ol = run.get('open_loop') or {}
        age = ol.get('age_ms') or {}
        trend = ol.get('age_trend') or {}
        search = run.get('rate_search') or {}
        writer.writerow([run['model'], run['backend'], run['error']] +
                        [ol.get(k) for k in RUN_FIELDS] + [age.get(k) for k in AGE_FIELDS] +
                        [trend.get('slope_ms_per_s'), trend.get('growing'),
                         search.get('max_rate_hz')] + _resource_values(run))
    return out.getvalue()


def plot(result, path):
    """Age of each answer over the run, per model, one line per backend; CPU per backend.

    Return False where matplotlib is missing or nothing was measured open loop.
    """
    plt = pyplot()
    runs = [r for r in result['runs'] if r.get('open_loop') and r['samples']]
    if plt is None or not runs:
        return False
    models = []
    for run in runs:
        if run['model'] not in models:
            models.append(run['model'])
    fig, axes = plt.subplots(len(models), 2, figsize=(12, 3 * len(models)), squeeze=False)
    for row, model in enumerate(models):
        mine = [r for r in runs if r['model'] == model]
        ax = axes[row][0]
        for run in mine:
            ax.plot([s['sent_s'] for s in run['samples']], [s['age_ms'] for s in run['samples']],
                    '.-', label=_title(run['backend']), linewidth=0.8, markersize=2)
        ax.set_title('%s: age of each answer at %s Hz' % (
            model, _fmt('%g', mine[0]['open_loop']['rate_hz'])))
        ax.set_xlabel('sent at (s into the run)')
        ax.set_ylabel('age ms')
        ax.legend(fontsize=8)
        ax = axes[row][1]
        names = [_title(r['backend']) for r in mine]
        answered = [r['open_loop']['answers_per_s'] or 0 for r in mine]
        cpu = [((r.get('resources') or {}).get('processes') or {}).get('classifier', {})
               .get('cpu_percent') or 0 for r in mine]
        positions = range(len(mine))
        ax.bar([p - 0.2 for p in positions], answered, width=0.4, label='answers/s')
        ax.bar([p + 0.2 for p in positions], cpu, width=0.4, label='node CPU %')
        ax.set_xticks(list(positions))
        ax.set_xticklabels(names)
        ax.set_title('%s: answers/s and node CPU' % model)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def compare(results, names):
    """Open-loop figures of each (model, backend) across several saved runs, or ''."""
    if not any(has_extras(r) for r in results):
        return ''
    keys = []
    for result in results:
        for run in result['runs']:
            if (run['model'], run['backend']) not in keys:
                keys.append((run['model'], run['backend']))
    rows = []
    for model, backend in keys:
        cells = [model, backend]
        for result in results:
            run = [r for r in result['runs'] if (r['model'], r['backend']) == (model, backend)]
            cells.append(_compare_cell(run[0]) if run else '-')
        rows.append(cells)
    return ('Open loop and resources (answers/s, age p99, unanswered share, max sustained rate, '
            'node CPU):\n' +
            _table(['model', 'backend'] + list(names), rows))


def _compare_cell(run):
    parts = []
    ol = run.get('open_loop')
    if ol:
        parts.append('%s/s at %s Hz, p99 %s ms, %s unanswered' % (
            _fmt('%.1f', ol['answers_per_s']), _fmt('%g', ol['rate_hz']),
            _fmt('%.0f', ol['age_ms']['p99_ms']), _fmt('%.0f%%', 100 * ol['drop_fraction'])))
    if run.get('rate_search'):
        parts.append('max %.1f Hz' % run['rate_search']['max_rate_hz'])
    node = ((run.get('resources') or {}).get('processes') or {}).get('classifier') or {}
    if node.get('cpu_percent') is not None:
        parts.append('node CPU %s' % _fmt('%.0f%%', node['cpu_percent']))
    return '; '.join(parts) or '-'
