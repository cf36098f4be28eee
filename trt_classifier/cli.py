# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""trt-classifier: models, classify, export, bench, report, build-engine, profile and more."""

import argparse
import logging
import sys

from trt_classifier import schema
from trt_classifier.errors import ClassifierError
from trt_classifier.export import DEFAULT_OPSET
from trt_classifier.trt_utils import RUNTIME_CHOICES


def cmd_models(args):
    from trt_classifier import models
    if args.specs:  # what a user's ONNX file or Chainer class contains
        import json
        from trt_classifier.models import user
        for text in args.specs:
            print(json.dumps(user.describe(models.resolve_model_spec(text)), indent=1))
        return 0
    rows = []
    for name in sorted(models.MODELS):
        spec = models.MODELS[name]
        rows.append('%-19s %11s %9.1f MB  %-9s %-5s %s' % (
            name, '{:,}'.format(spec.published_params), spec.published_params * 4 / 1e6,
            'yes' if models.pretrained_available(name, args.cache_dir) else 'no',
            spec.channel_order, spec.weights_source))
    header = ('model', 'params', 'fp32 size', 'pretrained', 'order', 'weights source')
    print('%-19s %11s %12s  %-9s %-5s %s' % header)
    print('\n'.join(rows))
    return 0


def cmd_env(args):
    """Print what a benchmark records, and which backends can run here (and why not)."""
    import json
    from trt_classifier import env_info
    from trt_classifier.backends import backend_names
    from trt_classifier.bench_runner import split_available
    available, unavailable = split_available(backend_names())
    print(json.dumps(env_info.environment(), indent=1))
    print('tensorrt runtime: %s' % env_info.tensorrt_runtime_summary())
    print('backends available here: %s' % ', '.join(available))
    for line in filter(None, unavailable.split('; ')):
        print('unavailable: %s' % line)
    return 0


def cmd_classify(args):
    """Classify image files with the serving core the node uses (no ROS): label, score, times."""
    import os
    from trt_classifier import frames, serving
    values = dict(schema.DEFAULTS, backend=args.backend, model=args.model, weights=args.weights,
                  device=args.device, precision=args.precision, top_k=args.top_k,
                  cache_dir=args.cache_dir or '', exit_on_start_failure=True)
    core = serving.Classifier(values, logging.getLogger('classify'))
    try:
        core.reload()
        if core.state != serving.READY:
            raise ClassifierError(core.error)
        failed = 0
        for path in args.images:
            try:
                rgb = frames.read_rgb(path)
            except ClassifierError as exc:  # one line per bad file; the others are classified
                logging.getLogger('classify').error(str(exc))
                failed += 1
                continue
            result = core.classify(rgb)
            print('%s: %s %.4f  (preprocess %.2f ms, inference %.2f ms; %s)' % (
                os.path.basename(path), result.label, result.score, result.preprocess_ms,
                result.inference_ms, ', '.join('%s %.4f' % (label, score)
                                               for _i, label, score in result.top_k()[1:])))
        return 1 if failed else 0
    finally:
        core.close()


def cmd_export(args):
    from trt_classifier import artefacts
    import shutil
    onnx = artefacts.onnx_export(artefacts.resolve_weights(args.model, args.weights,
                                                           args.cache_dir),
                                 args.input_size, args.opset)
    path, sha = onnx.path, onnx.sha256
    if args.output:
        shutil.copyfile(path, args.output)
        path = args.output
    print('%s  sha256 %s' % (path, sha))
    return 0


def cmd_bench(args):
    from trt_classifier import bench_runner
    if args.rate is not None and args.rate <= 0:
        raise ClassifierError('--rate must be > 0 Hz, not %r' % args.rate)
    run = {arg.name: getattr(args, arg.name) for arg in schema.BENCH_RUN}
    run['cache_dir'] = args.cache_dir or ''  # the global --cache-dir
    return bench_runner.run(run)


def cmd_overhead(args):
    from trt_classifier import overhead
    sizes = []
    for text in args.sizes.split(','):
        width, _x, height = text.strip().partition('x')
        try:
            sizes.append((int(width), int(height)))
        except ValueError:
            raise ClassifierError('--sizes takes WIDTHxHEIGHT,..., not %r' % text) from None
    overhead.run(sizes, args.frames, args.runs, args.pin_core,
                 '' if args.memory_model == 'none' else args.memory_model,
                 [b for b in args.memory_backends.split(',') if b], args.cache_dir,
                 args.source, args.output_dir, args.domain_id,
                 [p for p in args.build.split(',') if p], baseline=args.baseline)
    return 0


def cmd_report(args):
    from trt_classifier import report
    results = [report.load(p) for p in args.results]
    names = args.names.split(',') if args.names else []
    if names and len(names) != len(results):
        raise ClassifierError('--names has %d names for %d results' % (len(names), len(results)))
    if len(results) == 1:
        print(report.render(results[0]))
    else:
        print(report.compare(results, names or ['run%d' % (i + 1) for i in range(len(results))]))
    if args.output_dir:
        for result in results:
            for path in report.save(result, args.output_dir):
                print('wrote %s' % path)
    return 0


def cmd_build_engine(args):
    from trt_classifier.backends.tensorrt_backend import build_engine
    path = build_engine(args.model, args.weights, args.precision, args.workspace_mb,
                        args.cache_dir, logging.getLogger('trt_classifier'),
                        runtime=args.runtime, targets=args.compute_capabilities)
    print(path)
    return 0


def cmd_profile(args):
    from trt_classifier import profiling
    results = []
    for backend in args.backend.split(','):
        result = profiling.profile(args.model, backend, args.device, args.runs, args.weights,
                                   args.cache_dir)
        print(profiling.render_table(result))
        print()
        results.append(result)
        if args.output_dir:
            for path in profiling.save(result, args.output_dir):
                print('wrote %s' % path)
    if len(results) > 1:
        print(profiling.compare(results))
    return 0


def add_bench_options(parser):
    """``--NAME`` for each setting of schema.BENCH_RUN (--cache-dir is the global option)."""
    open_loop = parser.add_argument_group('open loop (camera rate)')
    for arg in schema.BENCH_RUN:
        if arg.name == 'cache_dir':
            continue
        group = open_loop if arg.param in schema.OPEN_LOOP_PARAMS else parser
        option = '--' + arg.name.replace('_', '-')
        text = '%s (default %s)' % (arg.text, arg.default)
        if isinstance(arg.default, bool):
            group.add_argument(option, action='store_true', help=arg.text)
        elif arg.name == 'rate':  # unset: closed loop; set: must be > 0
            group.add_argument(option, type=float, metavar='HZ', help=arg.text)
        else:
            group.add_argument(option, type=type(arg.default), default=arg.default,
                               choices=arg.choices, help=text)


def build_parser():
    parser = argparse.ArgumentParser(prog='trt-classifier', description=__doc__)
    parser.add_argument('--cache-dir', default=None,
                        help='weights/ONNX/engine cache (default ~/.cache/trt_classifier)')
    parser.add_argument('-v', '--verbose', action='store_true')
    sub = parser.add_subparsers(dest='command')
    sub.required = True

    p = sub.add_parser('models', help='list models, sizes and pretrained availability; with '
                                      'arguments, what an ONNX file or Chainer class contains')
    p.add_argument('specs', nargs='*', metavar='MODEL',
                   help='a path to an .onnx file or package.module:ClassName')
    p.set_defaults(func=cmd_models)

    p = sub.add_parser('env', help='machine, versions and which backends can run here')
    p.set_defaults(func=cmd_env)

    p = sub.add_parser('classify', help='classify image files without ROS (the serving core the '
                                        'node uses)')
    p.add_argument('images', nargs='+', metavar='IMAGE', help='image files OpenCV can decode')
    for name in ('backend', 'model', 'weights', 'device', 'precision', 'top_k'):
        param = schema.BY_NAME[name]  # checked by the core, as the node's are
        p.add_argument('--' + name.replace('_', '-'), type=type(param.default),
                       default=param.default, help=param.description)
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser('export', help='export a model to ONNX (cached)')
    p.add_argument('--model', required=True)
    p.add_argument('--weights', default='random')
    p.add_argument('--opset', type=int, default=DEFAULT_OPSET)
    p.add_argument('--input-size', type=int, default=224)
    p.add_argument('--output', help='copy the export here')
    p.set_defaults(func=cmd_export)

    p = sub.add_parser('bench', help='warm-up + timed runs over real ROS 2 nodes')
    add_bench_options(p)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser('overhead', help="the node's own CPU per frame vs an echo node, and the "
                                        'peak memory of every step')
    p.add_argument('--sizes', default='224x224,640x480', help='frame sizes WIDTHxHEIGHT,...')
    p.add_argument('--frames', type=int, default=300, help='timed frames per node and run')
    p.add_argument('--runs', type=int, default=3)
    p.add_argument('--pin-core', type=int, default=None,
                   help='also run with both nodes pinned to this core (taskset)')
    p.add_argument('--memory-model', default='vgg16', help="model of the memory steps, or 'none'")
    p.add_argument('--memory-backends', default='chainer,onnxruntime')
    p.add_argument('--build', default='', metavar='PRECISION[,PRECISION]',
                   help='also measure trt-classifier build-engine of the memory model at these '
                        'precisions, e.g. fp32,fp16 (needs TensorRT or TensorRT-RTX)')
    p.add_argument('--source', help='run the nodes from this source tree (before/after)')
    p.add_argument('--baseline', help='also run a null classifier from this source tree beside '
                                      'the others, frames interleaved (before/after in one run)')
    p.add_argument('--output-dir', help='write overhead.json and overhead.md here')
    p.add_argument('--domain-id', type=int, help='ROS_DOMAIN_ID of the run (default: a private '
                                                 'one from the process id)')
    p.set_defaults(func=cmd_overhead)

    p = sub.add_parser('report', help='re-render or compare saved benchmark results')
    p.add_argument('results', nargs='+', help='bench.json files')
    p.add_argument('--names', help='comma-separated column names for a comparison')
    p.add_argument('--output-dir', help='also re-write CSV/PNG here')
    p.set_defaults(func=cmd_report)

    p = sub.add_parser('build-engine', help='prebuild a TensorRT engine into the cache '
                       '(TensorRT-RTX: ahead of time, no GPU needed)')
    p.add_argument('--model', required=True,
                   help='a model name, a path to an .onnx file or package.module:ClassName')
    p.add_argument('--weights', default='random')
    p.add_argument('--precision', default='fp32', choices=schema.PRECISIONS)
    p.add_argument('--workspace-mb', type=int, default=schema.DEFAULT_WORKSPACE_MB)
    p.add_argument('--runtime', default='auto', choices=RUNTIME_CHOICES,
                   help='auto: classic TensorRT if importable, else TensorRT-RTX')
    p.add_argument('--compute-capabilities', default=None, metavar='CC[,CC...]',
                   help='TensorRT-RTX targets, e.g. 8.6,8.9, or all (default: 8.0 and up, '
                        "NVIDIA's portable set)")
    p.set_defaults(func=cmd_build_engine)

    p = sub.add_parser('profile', help='per-layer profile: fusion and idle time')
    p.add_argument('--model', required=True)
    p.add_argument('--backend', default='chainer',
                   help='one backend or a comma-separated list to compare')
    p.add_argument('--device', default='cpu')
    p.add_argument('--runs', type=int, default=10)
    p.add_argument('--weights', default='random')
    p.add_argument('--output-dir', help='write JSON and PNG here')
    p.set_defaults(func=cmd_profile)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format='%(levelname)s %(name)s: %(message)s')
    try:
        return args.func(args)
    except ClassifierError as exc:
        sys.stderr.write('trt-classifier: error: %s\n' % exc)
        return 2
    except BrokenPipeError:  # piped into head/less that quit early
        sys.stderr.close()
        return 0


if __name__ == '__main__':
    sys.exit(main())
