#!/usr/bin/env python3
# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Record real profiler outputs for ``test/test_profiling.py`` and ``test_onnxruntime_layers.py``.

Runs the real Chainer function hook and the real ONNX Runtime profiler (random weights, CPU,
1 warm-up + 2 runs) through ``trt_classifier.profiling.record`` (each backend's
``record_layers``) and writes their raw outputs, trimmed, to ``test/data/profiles/``:

- ``<model>-chainer-cpu.json``: the hook's records, ``[function, link, ms]`` per call per run;
- ``<model>-onnxruntime-cpu.json``: the profiler trace cut down to its ``model_run`` events and
  ``Node`` ``*_kernel_time`` events (args reduced to ``op_name`` and ``provider``), plus the
  exported and the optimised graph's structure (``onnxruntime_layers.onnx_graph_summary``).

Defaults: Chainer and ONNX Runtime for squeezenet1_1, ONNX Runtime only for resnet101 (its
Conv+BatchNormalization+Add+Relu fusions; 1 run to keep the file small). Files are compact JSON
with one list item per line; all of them together stay under 200 KB. TensorRT is not recorded:
it needs a GPU and TensorRT.
Usage: ``python tools/record_profiles.py [--out DIR] [--cache-dir DIR]``.
"""

import argparse
import json
import logging
import os
import sys

from trt_classifier import env_info, profiling

RUNS = 2
# resnet101 keeps one run (plus the warm-up): its two graphs are most of the file already.
DEFAULT_JOBS = (('squeezenet1_1', 'chainer', RUNS), ('squeezenet1_1', 'onnxruntime', RUNS),
                ('resnet101', 'onnxruntime', 1))
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(os.path.dirname(HERE), 'test', 'data', 'profiles')
KEEP_ARGS = ('op_name', 'provider')


def trim_ort_events(events):
    """Keep model_run and Node kernel_time events, with only the fields the parser reads."""
    kept = []
    for event in events:
        name = str(event.get('name', ''))
        if event.get('cat') == 'Session' and name == 'model_run':
            kept.append({'cat': 'Session', 'name': name, 'ts': event['ts'], 'dur': event['dur']})
        elif event.get('cat') == 'Node' and name.endswith('_kernel_time'):
            args = event.get('args', {})
            kept.append({'cat': 'Node', 'name': name, 'ts': event['ts'], 'dur': event['dur'],
                         'args': {k: args[k] for k in KEEP_ARGS if k in args}})
    return kept


def trim_chainer_runs(runs):
    return [{'wall_ms': round(run['wall_ms'], 4),
             'calls': [[op, link, round(ms, 4)] for op, link, ms in run['calls']]}
            for run in runs]


def record(model, backend, runs, cache_dir):
    if backend not in ('chainer', 'onnxruntime'):
        raise SystemExit('only chainer and onnxruntime profiles can be recorded here')
    raw = profiling.record(model, backend, 'cpu', runs, 'random', cache_dir)
    if backend == 'chainer':
        raw['runs'] = trim_chainer_runs(raw['runs'])
    else:
        raw['events'] = trim_ort_events(raw['events'])
    raw['unprofiled_ms'] = [round(ms, 4) for ms in raw['unprofiled_ms']]
    raw['recorded'] = {'tool': 'tools/record_profiles.py', 'runs': runs, 'warm_up': 1,
                       'machine': env_info.environment()}
    return raw


def dumps(value, depth=0):
    """Compact JSON, sorted keys, one item per line for lists of objects (reviewable diffs)."""
    if isinstance(value, dict):
        if depth > 1:
            return json.dumps(value, sort_keys=True, separators=(',', ':'))
        items = ['%s:%s' % (json.dumps(k), dumps(value[k], depth + 1)) for k in sorted(value)]
        return '{\n' + ',\n'.join(items) + '\n}'
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return '[\n' + ',\n'.join(dumps(v, depth + 1) for v in value) + '\n]'
    return json.dumps(value, sort_keys=True, separators=(',', ':'))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=DEFAULT_OUT, help='output directory (%(default)s)')
    parser.add_argument('--cache-dir', default=None, help='weights/ONNX cache directory')
    parser.add_argument('jobs', nargs='*', metavar='MODEL:BACKEND',
                        help='what to record (default: %s)' % ' '.join(
                            '%s:%s' % job[:2] for job in DEFAULT_JOBS))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='%(message)s')
    jobs = [tuple(job.split(':', 1)) + (RUNS,) for job in args.jobs] or DEFAULT_JOBS
    os.makedirs(args.out, exist_ok=True)
    for model, backend, runs in jobs:
        raw = record(model, backend, runs, args.cache_dir)
        path = os.path.join(args.out, '%s-%s-cpu.json' % (model, backend))
        with open(path, 'w') as f:
            f.write(dumps(raw) + '\n')
        logging.info('wrote %s (%.1f KB)' % (path, os.path.getsize(path) / 1e3))
    return 0


if __name__ == '__main__':
    sys.exit(main())
