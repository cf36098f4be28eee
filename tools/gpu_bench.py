# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Benchmark the backends without ROS on a GPU machine; find where Chainer's GPU time goes.

For each model the protocol is 1 untimed warm-up + N timed forwards of batch 1, fp32, random
weights, on a real sample photo:

* ``chainer/gpu`` eager, its input preprocessed on the GPU (``GpuPreprocessor``, timed apart);
* ``chainer/gpu`` with ``static_graph`` (Chainer's static subgraph optimisation, the experiment
  in tools/chainer_static_graph.py), same protocol,
  in the same run as the eager baseline;
* ``chainer/cpu`` and ``onnxruntime/cpu``, their input preprocessed on the CPU.

Also: CPU vs GPU preprocessing for 640x480 and 1280x720 frames, and a launch-overhead breakdown
for Chainer on the GPU (``--overhead``): synchronised wall time per forward, host time to issue
it, GPU busy time with the launch gaps removed (the forward is issued while the GPU spins on a
long kernel, so every kernel is queued before the first runs), per-function GPU time from CUDA
events in a function hook, and the number of Chainer functions per forward.

Usage, from the repository root (GPU machine with CuPy and Chainer):

    PYTHONPATH=. python3 tools/gpu_bench.py --out results/h100 [--models ...] [--iterations 100]

Writes ``gpu_bench.json`` (schema ``trt_classifier.gpu_bench/1``) and ``gpu_bench.png`` in
``--out`` and prints the tables.
"""

import argparse
import collections
import datetime
import glob
import json
import os
import sys
import time
import traceback

from chainer_static_graph import StaticGraphChainerBackend  # tools/, beside this file
import cv2
import numpy

from trt_classifier import backends as backend_registry, report
from trt_classifier.env_info import environment
from trt_classifier.models import get_spec
from trt_classifier.preprocess import Preprocessor, top_k
from trt_classifier.stats import summarize

SCHEMA = 'trt_classifier.gpu_bench/1'
MODELS = ('vgg16', 'resnet101', 'squeezenet1_1', 'efficientnet_lite0')
SAMPLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           'trt_classifier', 'data', 'samples')
SPIN_SOURCE = r"""
extern "C" __global__ void trt_classifier_spin(const long long cycles) {
    const long long start = clock64();
    while (clock64() - start < cycles) {
    }
}
"""


def log(*parts):
    sys.stderr.write(' '.join(str(p) for p in parts) + '\n')
    sys.stderr.flush()


def load_photo(name):
    path = os.path.join(SAMPLES_DIR, name)
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit('cannot read sample photo %s' % path)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def rel_l2(a, b):
    a = numpy.asarray(a, dtype=numpy.float64)
    b = numpy.asarray(b, dtype=numpy.float64)
    return float(numpy.linalg.norm(a - b) / max(numpy.linalg.norm(b), 1e-30))


class Sync(object):
    """Device synchronisation, or nothing without CuPy."""

    def __init__(self):
        try:
            import cupy
            self.cupy = cupy
        except ImportError:
            self.cupy = None

    def __call__(self):
        if self.cupy is not None:
            self.cupy.cuda.Device().synchronize()


def run_record(model, backend, device, variant, info=None):
    return collections.OrderedDict([
        ('model', model), ('backend', backend), ('device', device), ('variant', variant),
        ('key', '%s/%s%s' % (backend, device, '' if variant == 'eager' else '+' + variant)),
        ('error', ''), ('info', info or {}), ('stats', {}), ('samples', []),
        ('top1', None), ('logits_rel_l2_vs_chainer_cpu', None)])


def finish_record(record):
    samples = record['samples']
    for metric in ('preprocess_ms', 'inference_ms', 'total_ms'):
        record['stats'][metric] = summarize([s[metric] for s in samples])
    return record


def new_backend(name, model, device, variant, cache_dir, options=None):
    """Return the registry's backend, or for the ``static_graph`` variant this tool's own."""
    if variant == 'static_graph':
        return StaticGraphChainerBackend(model, weights='random', device=device,
                                         cache_dir=cache_dir, options=options)
    return backend_registry.create_backend(name, model, weights='random', device=device,
                                           cache_dir=cache_dir, options=options)


def bench_backend(model, backend_name, device, variant, photo, args, sync, options=None):
    """1 warm-up + N timed (preprocess, infer) on ``photo``; return the record and last logits."""
    spec = get_spec(model)
    record = run_record(model, backend_name, device, variant)
    logits = None
    try:
        if device == 'gpu':
            from trt_classifier.gpu_preprocess import GpuPreprocessor
            pre = GpuPreprocessor.for_model(spec)
        else:
            pre = Preprocessor.for_model(spec)
        opts = dict(options or {})
        backend = new_backend(backend_name, model, device, variant, args.cache_dir, opts)
        start = time.perf_counter()
        backend.load()
        record['info'] = backend.describe()
        record['info']['load_s'] = round(time.perf_counter() - start, 3)
        record['info']['preprocess'] = 'gpu (CuPy kernel)' if device == 'gpu' else 'cpu (cv2)'
        for i in range(args.warmup + args.iterations):
            sync()
            t0 = time.perf_counter()
            batch = pre(photo)
            sync()
            t1 = time.perf_counter()
            logits = backend.infer(batch)
            t2 = time.perf_counter()
            if i < args.warmup:
                continue
            record['samples'].append(collections.OrderedDict([
                ('frame', i - args.warmup), ('preprocess_ms', (t1 - t0) * 1000.0),
                ('inference_ms', backend.last_inference_ms), ('total_ms', (t2 - t0) * 1000.0),
                ('top1', top_k(logits, 1)[0][0])]))
        record['top1'] = top_k(logits, 1)[0][0]
        backend.close()
    except Exception as exc:  # recorded in the report, the next backend still runs
        record['error'] = '%s: %s' % (type(exc).__name__, exc)
        record['traceback'] = traceback.format_exc()
        log('FAILED', model, backend_name, device, variant, record['error'])
        logits = None
    finish_record(record)
    if record['samples']:
        log('%-18s %-22s mean %8.2f ms  median %8.2f  p99 %8.2f  (preprocess %.2f ms)' % (
            model, record['key'], record['stats']['inference_ms']['mean_ms'],
            record['stats']['inference_ms']['median_ms'],
            record['stats']['inference_ms']['p99_ms'],
            record['stats']['preprocess_ms']['mean_ms']))
    return record, logits


def bench_models(args, photo, sync, have_gpu):
    runs = []
    for model in args.models:
        logits_by_key = {}
        plan = []
        if have_gpu:
            plan.append(('chainer', 'gpu', 'eager', {}))
            if args.static_graph:
                plan.append(('chainer', 'gpu', 'static_graph', {}))
        plan.append(('chainer', 'cpu', 'eager', {}))
        if model not in args.skip_ort:
            plan.append(('onnxruntime', 'cpu', 'eager', {}))
        for backend_name, device, variant, options in plan:
            record, logits = bench_backend(model, backend_name, device, variant, photo, args,
                                           sync, options)
            logits_by_key[record['key']] = logits
            runs.append(record)
        reference = logits_by_key.get('chainer/cpu')
        for record in runs:
            if record['model'] == model and reference is not None and \
                    logits_by_key.get(record['key']) is not None:
                record['logits_rel_l2_vs_chainer_cpu'] = rel_l2(
                    logits_by_key[record['key']], reference)
    for model in args.skip_ort:
        if model in args.models:
            record = run_record(model, 'onnxruntime', 'cpu', 'eager')
            record['error'] = 'skipped: %s' % args.skip_ort_reason
            runs.append(finish_record(record))
    return runs


def bench_preprocess(args, sync, have_gpu):
    """CPU (cv2) vs GPU (upload + kernel + sync) preprocessing of camera-sized frames."""
    out = []
    photo = load_photo(args.photo)
    spec = get_spec('efficientnet_lite0')
    for width, height in ((640, 480), (1280, 720)):
        frame = cv2.resize(photo, (width, height), interpolation=cv2.INTER_LINEAR)
        for policy in ('center_crop', 'stretch'):
            impls = [('cpu', Preprocessor(224, policy, spec.mean, spec.std))]
            if have_gpu:
                from trt_classifier.gpu_preprocess import GpuPreprocessor
                impls.append(('gpu', GpuPreprocessor(224, policy, spec.mean, spec.std)))
            results = {}
            for impl, pre in impls:
                samples = []
                for i in range(args.warmup + args.iterations):
                    sync()
                    t0 = time.perf_counter()
                    batch = pre(frame)
                    sync()
                    dt = (time.perf_counter() - t0) * 1000.0
                    if i >= args.warmup:
                        samples.append(dt)
                results[impl] = batch if impl == 'cpu' else batch.get()
                stats = summarize(samples)
                out.append(collections.OrderedDict([
                    ('frame', '%dx%d' % (width, height)), ('policy', policy), ('impl', impl),
                    ('stats', stats), ('samples', samples)]))
                log('preprocess %dx%d %-11s %s mean %.3f ms median %.3f p99 %.3f' % (
                    width, height, policy, impl, stats['mean_ms'], stats['median_ms'],
                    stats['p99_ms']))
            if 'gpu' in results:
                diff = float(numpy.abs(results['gpu'] - results['cpu']).max())
                out[-1]['max_abs_diff_vs_cpu'] = diff
                out[-1]['max_abs_diff_grey_levels'] = diff * 255.0 * min(spec.std)
    return out


def make_event_hook(chainer, cupy):
    """Return a Chainer function hook: CUDA events around each function, on the current stream.

    ``hook.timings()`` (after the device has finished) gives ``[(label, gpu_ms, host_ms)]``.
    """

    class EventHook(chainer.FunctionHook):
        name = 'GpuBenchEventHook'

        def __init__(self):
            self.records = []

        def reset(self):
            self.records = []

        def forward_preprocess(self, function, in_data):
            start = cupy.cuda.Event()
            start.record()
            self.records.append([function.label, start, None, time.perf_counter(), None])

        def forward_postprocess(self, function, in_data):
            end = cupy.cuda.Event()
            end.record()
            # Functions do not nest in a forward: the last open record is this one.
            for rec in reversed(self.records):
                if rec[2] is None:
                    rec[2] = end
                    rec[4] = time.perf_counter()
                    break

        def timings(self):
            out = []
            for label, start, end, h0, h1 in self.records:
                gpu = cupy.cuda.get_elapsed_time(start, end) if end is not None else 0.0
                out.append((label, gpu, (h1 - h0) * 1000.0 if h1 is not None else 0.0))
            return out

    return EventHook()


def overhead_analysis(args, sync):
    """Where a Chainer GPU forward's time goes, eager and with static_graph."""
    import cupy
    from trt_classifier.compat import import_chainer
    chainer = import_chainer()
    spin = cupy.RawKernel(SPIN_SOURCE, 'trt_classifier_spin')
    results = collections.OrderedDict()

    def spin_for(cycles):
        spin((1,), (1,), (numpy.int64(cycles),))

    # Calibrate the spin kernel: clock64 cycles per millisecond.
    sync()
    e0, e1 = cupy.cuda.Event(), cupy.cuda.Event()
    spin_for(10 ** 7)
    e0.record()
    spin_for(10 ** 8)
    e1.record()
    e1.synchronize()
    cycles_per_ms = 10 ** 8 / cupy.cuda.get_elapsed_time(e0, e1)
    results['spin_cycles_per_ms'] = cycles_per_ms

    for model in args.overhead_models:
        spec = get_spec(model)
        photo = load_photo(args.photo)
        from trt_classifier.gpu_preprocess import GpuPreprocessor
        x = GpuPreprocessor.for_model(spec)(photo)
        variants = collections.OrderedDict()
        for variant in ('eager', 'eager_no_type_check', 'static_graph'):
            try:
                variants[variant] = overhead_variant(
                    chainer, cupy, model, variant, x, args, sync, spin_for, cycles_per_ms)
            except Exception as exc:  # recorded; the other variants still run
                variants[variant] = {'error': '%s: %s' % (type(exc).__name__, exc),
                                     'traceback': traceback.format_exc()}
                log('FAILED overhead', model, variant, exc)
        results[model] = variants
    return results


def overhead_variant(chainer, cupy, model, variant, x, args, sync, spin_for, cycles_per_ms):
    backend = new_backend('chainer', model, 'gpu', variant, args.cache_dir)
    backend.load()
    n = args.overhead_iterations
    type_check = variant != 'eager_no_type_check'
    out = collections.OrderedDict()

    run = backend.forward  # eager: model.forward; static_graph: the replayed schedule

    def forward():
        with chainer.using_config('train', False), chainer.no_backprop_mode(), \
                chainer.using_config('type_check', type_check):
            return run(x)

    for _ in range(3):  # warm-up: kernel compilation, memory pool, the static schedule
        forward()
    sync()
    wall, issue = [], []
    for _ in range(n):
        sync()
        t0 = time.perf_counter()
        forward()
        t1 = time.perf_counter()
        sync()
        t2 = time.perf_counter()
        issue.append((t1 - t0) * 1000.0)
        wall.append((t2 - t0) * 1000.0)
    out['wall_ms'] = summarize(wall)['mean_ms']
    out['wall_median_ms'] = summarize(wall)['median_ms']
    out['issue_ms'] = summarize(issue)['mean_ms']
    # GPU span with gaps (first kernel to last) and busy time without gaps (behind a spin).
    spans, busy, issue_behind_spin = [], [], []
    spin_ms = max(200.0, 4.0 * max(wall))
    for _ in range(max(5, n // 5)):
        sync()
        e0, e1 = cupy.cuda.Event(), cupy.cuda.Event()
        e0.record()
        forward()
        e1.record()
        sync()
        spans.append(cupy.cuda.get_elapsed_time(e0, e1))
        spin_for(int(spin_ms * cycles_per_ms))
        e0, e1 = cupy.cuda.Event(), cupy.cuda.Event()
        e0.record()
        t0 = time.perf_counter()
        forward()
        t1 = time.perf_counter()
        e1.record()
        sync()
        busy.append(cupy.cuda.get_elapsed_time(e0, e1))
        issue_behind_spin.append((t1 - t0) * 1000.0)
    out['gpu_span_ms'] = summarize(spans)['mean_ms']
    out['gpu_busy_ms'] = summarize(busy)['mean_ms']
    out['gpu_busy_min_ms'] = min(busy)
    out['spin_ms'] = spin_ms
    out['issue_behind_spin_ms'] = summarize(issue_behind_spin)['mean_ms']
    # Valid only if the whole forward was queued while the GPU still spun (no implicit sync and
    # no launch queue full).
    out['busy_valid'] = max(issue_behind_spin) < 0.9 * spin_ms and \
        out['issue_behind_spin_ms'] < 1.5 * out['issue_ms'] + 1.0
    out['idle_ms'] = out['wall_ms'] - out['gpu_busy_ms']
    if variant != 'static_graph':
        hook = make_event_hook(chainer, cupy)
        reps = 3
        # label -> [count, host ms (normal pass), GPU busy ms (behind a spin)]
        totals = collections.defaultdict(lambda: [0, 0.0, 0.0])
        spin_host = []
        with hook:
            for _ in range(reps):
                # Normal pass: host time per function; GPU spans include waiting for the host.
                hook.reset()
                sync()
                forward()
                sync()
                normal = hook.timings()
                for label, _gpu_ms, host_ms in normal:
                    totals[label][0] += 1
                    totals[label][1] += host_ms
                # Behind a spin: per-function GPU busy time without gaps, valid only while the
                # host never blocked (each function adds 2 event records to the launch queue:
                # a full queue blocks the host until the spin ends, and the gaps come back).
                hook.reset()
                sync()
                spin_for(int(spin_ms * cycles_per_ms))
                t0 = time.perf_counter()
                forward()
                spin_host.append((time.perf_counter() - t0) * 1000.0)
                sync()
                for label, gpu_ms, _host_ms in hook.timings():
                    totals[label][2] += gpu_ms
        out['functions'] = len(normal)
        out['sum_function_spans_ms'] = sum(t[1] for t in normal)
        out['sum_function_host_ms'] = sum(t[2] for t in normal)
        per_label = collections.OrderedDict()
        for label, (count, host_ms, gpu_ms) in sorted(
                totals.items(), key=lambda item: -item[1][1]):
            per_label[label] = collections.OrderedDict([
                ('count', count // reps), ('host_ms', host_ms / reps),
                ('gpu_busy_ms', gpu_ms / reps)])
        out['per_function'] = per_label
        out['sum_function_busy_ms'] = sum(v['gpu_busy_ms'] for v in per_label.values())
        out['per_function_busy_valid'] = max(spin_host) < 0.9 * spin_ms
        out['host_ms_per_function'] = out['issue_ms'] / max(1, out['functions'])
    log('overhead %-14s %-20s wall %7.2f ms issue %7.2f gpu-span %7.2f gpu-busy %7.2f%s '
        'functions %s' % (model, variant, out['wall_ms'], out['issue_ms'], out['gpu_span_ms'],
                          out['gpu_busy_ms'], '' if out['busy_valid'] else ' (INVALID)',
                          out.get('functions', '-')))
    backend.close()
    return out


def profile_forward(args, sync):
    """Run one eager forward per model inside ``cupyx.profiler.profile()`` (for Nsight Compute).

    Under ``ncu --profile-from-start off`` only the kernels of that forward are profiled, after
    3 unprofiled warm-up forwards: their number and durations are the forward's kernel work.
    E.g. ``ncu --profile-from-start off --metrics gpu__time_duration.sum --csv --page raw
    --log-file kernels.csv python3 tools/gpu_bench.py --sections profile_forward
    --overhead-models resnet101`` (``--log-file`` receives the CSV report).
    """
    import cupyx.profiler
    from trt_classifier.compat import import_chainer
    chainer = import_chainer()
    from trt_classifier.gpu_preprocess import GpuPreprocessor
    for model in args.overhead_models:
        x = GpuPreprocessor.for_model(get_spec(model))(load_photo(args.photo))
        backend = backend_registry.create_backend(
            'chainer', model, weights='random', device='gpu', cache_dir=args.cache_dir)
        backend.load()
        with chainer.using_config('train', False), chainer.no_backprop_mode():
            for _ in range(3):
                backend.model.forward(x)
            sync()
            with cupyx.profiler.profile():
                backend.model.forward(x)
                sync()
        backend.close()
        log('profiled one forward of', model)


def prepare_onnx(args):
    """Export the ONNX files ONNX Runtime needs (cached); record which failed."""
    from trt_classifier import artefacts
    failed = {}
    for model in args.models:
        if model in args.skip_ort:
            continue
        start = time.perf_counter()
        try:
            path = artefacts.onnx_export(
                artefacts.resolve_weights(model, 'random', args.cache_dir)).path
            log('onnx', model, path, '%.1f s' % (time.perf_counter() - start))
        except Exception as exc:  # that model's ORT run is skipped with the reason
            failed[model] = '%s: %s' % (type(exc).__name__, exc)
            log('onnx export FAILED', model, failed[model])
            traceback.print_exc()
    return failed


def plot(result, path):
    plt = report.pyplot()
    if plt is None:
        return False
    runs = [r for r in result['runs'] if r['samples']]
    models = []
    keys = []
    for run in runs:
        if run['model'] not in models:
            models.append(run['model'])
        if run['key'] not in keys:
            keys.append(run['key'])
    fig, axes = plt.subplots(1, 2, figsize=(15, 5.5), gridspec_kw={'width_ratios': [3, 2]})
    ax = axes[0]
    width = 0.8 / max(1, len(keys))
    by = {(r['model'], r['key']): r for r in runs}
    for k, key in enumerate(keys):
        xs, means, errs = [], [], []
        for m, model in enumerate(models):
            run = by.get((model, key))
            if run is None:
                continue
            stats = run['stats']['inference_ms']
            xs.append(m + (k - (len(keys) - 1) / 2.0) * width)
            means.append(stats['mean_ms'])
            errs.append(max(0.0, stats['p99_ms'] - stats['mean_ms']))
        bars = ax.bar(xs, means, width, yerr=[[0] * len(errs), errs], capsize=2, label=key)
        for bar, mean in zip(bars, means):
            ax.text(bar.get_x() + bar.get_width() / 2, mean, '%.1f' % mean, ha='center',
                    va='bottom', fontsize=7)
    ax.set_yscale('log')
    ax.set_xticks(range(len(models)))
    ax.set_xticklabels(models)
    ax.set_ylabel('inference latency, ms (mean; whisker to p99; log scale)')
    ax.set_title('Batch 1, fp32, random weights, %d timed after %d warm-up' % (
        result['protocol']['iterations'], result['protocol']['warmup']))
    ax.legend(fontsize=8)
    ax = axes[1]
    pre = result.get('preprocess') or []
    labels = ['%s %s\n%s' % (p['frame'], p['policy'], p['impl']) for p in pre]
    ax.barh(range(len(pre)), [p['stats']['mean_ms'] for p in pre],
            color=['tab:blue' if p['impl'] == 'cpu' else 'tab:green' for p in pre])
    ax.set_yticks(range(len(pre)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlabel('preprocess ms (mean), to a 224x224 float32 batch')
    ax.set_title('Preprocessing: cv2 (CPU) vs CuPy kernel (GPU, incl. upload)')
    gpu = (result['environment'].get('gpu') or {}).get('gpu0', 'no GPU')
    fig.suptitle('trt_classifier backends without ROS on %s, %s' % (
        gpu, result['environment'].get('cpu')), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def table(result):
    lines = ['| model | backend | preprocess | n | mean ms | median ms | p90 ms | p99 ms | '
             'std ms | top-1 = Chainer CPU | logits rel. L2 vs Chainer CPU |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    ref = {r['model']: r['top1'] for r in result['runs']
           if r['key'] == 'chainer/cpu' and r['samples']}
    for run in result['runs']:
        if not run['samples']:
            lines.append('| %s | %s | - | 0 | %s | | | | | | |' % (
                run['model'], run['key'], run['error'][:80]))
            continue
        s = run['stats']['inference_ms']
        p = run['stats']['preprocess_ms']
        same = '-' if run['model'] not in ref else (
            'yes' if ref[run['model']] == run['top1'] else 'no')
        l2 = run['logits_rel_l2_vs_chainer_cpu']
        lines.append(('| %s | %s | %s %.2f ms | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %s | '
                      '%s |') % (
            run['model'], run['key'], run['device'], p['mean_ms'], s['n'], s['mean_ms'],
            s['median_ms'], s['p90_ms'], s['p99_ms'], s['std_ms'], same,
            '-' if l2 is None else '%.1e' % l2))
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='results/gpu_bench')
    parser.add_argument('--models', nargs='+', default=list(MODELS))
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--iterations', type=int, default=100)
    parser.add_argument('--photo', default='chelsea.jpg', help='a file in %s' % SAMPLES_DIR)
    parser.add_argument('--cache-dir', default=None)
    parser.add_argument('--no-static-graph', dest='static_graph', action='store_false')
    parser.add_argument('--skip-ort', nargs='*', default=[], metavar='MODEL',
                        help='models to run without ONNX Runtime')
    parser.add_argument('--skip-ort-reason', default='not requested')
    parser.add_argument('--overhead', action='store_true')
    parser.add_argument('--overhead-models', nargs='+', default=['resnet101', 'squeezenet1_1'])
    parser.add_argument('--overhead-iterations', type=int, default=50)
    parser.add_argument('--sections', nargs='+', default=['preprocess', 'models', 'overhead'],
                        help='preprocess, models, overhead; or profile_forward alone (one '
                        'eager forward per --overhead-models inside cupyx.profiler.profile(), '
                        'for ncu --profile-from-start off)')
    args = parser.parse_args(argv)

    from trt_classifier.gpu_preprocess import gpu_available
    have_gpu, gpu_reason = gpu_available()
    log('GPU:', have_gpu, gpu_reason)
    sync = Sync() if have_gpu else (lambda: None)
    if not os.path.isdir(args.out):
        os.makedirs(args.out)
    photo = load_photo(args.photo)
    result = collections.OrderedDict([
        ('schema', SCHEMA),
        ('created', datetime.datetime.now().isoformat(timespec='seconds')),
        ('protocol', collections.OrderedDict([
            ('warmup', args.warmup), ('iterations', args.iterations), ('batch', 1),
            ('precision', 'fp32'), ('weights', 'random (seed 0)'),
            ('input', '%s (%dx%d), preprocessed per model spec' % (
                args.photo, photo.shape[1], photo.shape[0])),
            ('timing', 'inference_ms: Backend.infer (GPU: until logits are on the host); '
                       'preprocess_ms: frame -> batch, GPU synchronised; no ROS'),
            ('gpu', gpu_reason)])),
        ('environment', environment()),
        ('samples_photos', sorted(os.path.basename(p) for p in glob.glob(
            os.path.join(SAMPLES_DIR, '*.jpg')))),
        ('runs', []), ('preprocess', []), ('overhead', None), ('onnx_export_failures', {})])
    json_path = os.path.join(args.out, 'gpu_bench.json')

    def save():
        with open(json_path, 'w') as f:
            json.dump(result, f, indent=1)

    if args.sections == ['profile_forward']:
        profile_forward(args, sync)
        return 0
    if 'preprocess' in args.sections:
        result['preprocess'] = bench_preprocess(args, sync, have_gpu)
        save()
    if 'overhead' in args.sections and have_gpu and args.overhead:
        result['overhead'] = overhead_analysis(args, sync)
        save()
    if 'models' in args.sections:
        failed = prepare_onnx(args)
        result['onnx_export_failures'] = failed
        if failed:
            args.skip_ort = list(args.skip_ort) + sorted(failed)
            args.skip_ort_reason = 'ONNX export failed: %s' % '; '.join(
                '%s: %s' % item for item in sorted(failed.items()))
        result['runs'] = bench_models(args, photo, sync, have_gpu)
        save()
    png = os.path.join(args.out, 'gpu_bench.png')
    if result['runs'] and plot(result, png):
        log('wrote', png)
    save()
    text = table(result)
    with open(os.path.join(args.out, 'gpu_bench.md'), 'w') as f:
        f.write(text + '\n')
    print(text)
    log('wrote', json_path)
    return 0


if __name__ == '__main__':
    sys.exit(main())
