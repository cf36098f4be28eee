# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""``trt-classifier bench``: what bench.launch.py does, without ``ros2 launch``.

Starts one classifier_node per available backend in its namespace and the bench node, each in its
own process, waits for the bench to finish, then stops the classifiers with SIGINT. Sequential
mode (automatic below 8 GB of memory) starts one classifier at a time: the next when the bench
has stopped the previous one.
"""

import json
import logging
import os
import signal
import subprocess
import sys
import time

from trt_classifier import resources, schema
from trt_classifier.errors import ClassifierError
from trt_classifier.models.user import is_dotted, is_model_file
from trt_classifier.procs import large_frame_env, NodeProcess, ros_args

_log = logging.getLogger('trt_classifier.bench')
SMALL_MEMORY_MB = 8000.0  # below this MemTotal (a 4 GB Nano, an 8 GB Orin) bench sequentially


def choose_sequential(value='auto', mem_total_mb=None):
    """Return ``(sequential, why)`` for 'auto', 'true'/'false' (or a bool)."""
    if isinstance(value, bool) or str(value).lower() in ('true', 'false'):
        chosen = value if isinstance(value, bool) else str(value).lower() == 'true'
        return chosen, 'asked for'
    if str(value).lower() != 'auto':
        from trt_classifier.errors import ClassifierError
        raise ClassifierError('sequential must be auto, true or false, not %r' % (value,))
    total = resources.mem_total_mb() if mem_total_mb is None else mem_total_mb
    if total == total and total < SMALL_MEMORY_MB:
        return True, 'auto: %.1f GB of memory is under %.0f GB' % (
            total / 1e3, SMALL_MEMORY_MB / 1e3)
    return False, 'auto: %.1f GB of memory' % (total / 1e3)


def classifier_params(backend, device='cpu', precision='fp32', cache_dir='', model=None,
                      weights='auto', models=()):
    """Return the parameters of the benchmark's classifier node for ``backend``.

    Shared with launch/bench.launch.py. The Chainer classes (``package.module:ClassName``) among
    ``models`` go into the node's read-only ``allowed_model_classes``: the bench switches models
    through the parameter service, which never may name code on its own.
    """
    params = {'backend': backend, 'device': device, 'precision': precision,
              'image_qos': 'reliable', 'reload_policy': 'release_first',
              # a model that fails to load is reported by the bench, not fatal to the node
              'exit_on_start_failure': False,
              # idle while other backends are measured: that silence is expected
              'silence_timeout_s': 3600.0}
    if backend == 'chainer' and model and is_model_file(model.strip()):
        # Chainer cannot run ONNX files: start with a model it can run (the bench reports the
        # ONNX files as refused for chainer)
        model = next((m for m in models if not is_model_file(m.strip())), None)
    if model:  # start with the first benchmarked model, not the default one
        params['model'] = model.strip()
        params['weights'] = weights
    if cache_dir:
        params['cache_dir'] = cache_dir
    classes = [m.strip() for m in models if is_dotted(m.strip())]
    if classes:
        params['allowed_model_classes'] = ','.join(classes)
    return params


def split_list(text):
    return [item.strip() for item in text.split(',') if item.strip()]


def bench_node_params(run_settings, backends, models, unavailable, sequential):
    """Return the bench node's parameters for a run (both launchers use this)."""
    params = schema.bench_node_params(run_settings)
    params.update(backends=','.join(backends), models=','.join(models),
                  unavailable=unavailable, sequential=sequential)
    return params


def check_request(backends, models, precision='fp32', device='cpu', warmup=1, iterations=1):
    """Raise ClassifierError, one line naming the bad value and the valid ones, before any start.

    Shared by ``trt-classifier bench``, bench.launch.py and the bench node.
    """
    from trt_classifier import backends as registry
    from trt_classifier.backends.base import parse_device
    from trt_classifier.models import MODELS
    for kind, names, valid in (('backend', backends, registry.backend_names()),
                               ('model', models, sorted(MODELS))):
        if not names:
            raise ClassifierError('no %s given; valid %ss: %s' % (kind, kind, ', '.join(valid)))
        for name in names:
            if kind == 'model' and name not in valid:
                check_user_model(name)
            elif name not in valid:
                raise ClassifierError('unknown %s %r; valid %ss: %s' % (
                    kind, name, kind, ', '.join(valid)))
    if precision not in schema.PRECISIONS:
        raise ClassifierError('unknown precision %r; valid precisions: %s' % (
            precision, ', '.join(schema.PRECISIONS)))
    parse_device(device)
    for name, value in (('warmup', warmup), ('iterations', iterations)):
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = 0
        if number < 1 or str(number) != str(value).strip():
            raise ClassifierError('%s must be a whole number >= 1, not %r (the first, untimed '
                                  'frame also waits for the model to load)' % (name, value))


def check_user_model(name):
    """Accept an ONNX file the node can serve, or a ``package.module:ClassName``; else raise.

    A file is inspected (models.resolve_model_spec: one line naming what is wrong). A class is
    only checked for its form here: importing it would run its code in the launching process;
    the classifier nodes import it and report a failure in the bench's table.
    """
    from trt_classifier.models import MODELS, resolve_model_spec
    if is_dotted(name):
        return
    if not is_model_file(name):
        raise ClassifierError('unknown model %r; valid models: %s, a path to an .onnx file or '
                              'package.module:ClassName' % (name, ', '.join(sorted(MODELS))))
    resolve_model_spec(name)


def split_available(backends):
    """Return ``(available, 'name: reason; ...')`` for a list of backend names.

    The runtimes are imported in a child process: the launch process (which lives as long as the
    benchmark) then never holds TensorRT, CuDNN or Chainer in memory, which matters on a Nano.
    """
    code = ('import json, sys\n'
            'from trt_classifier.backends import check_available\n'
            'out = {}\n'
            'for name in sys.argv[1:]:\n'
            '    try:\n'
            '        check_available(name)\n'
            '        out[name] = ""\n'
            '    except Exception as exc:\n'
            '        out[name] = str(exc)\n'
            'print(json.dumps(out))\n')
    try:
        proc = subprocess.run([sys.executable, '-c', code] + list(backends),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        reasons = json.loads(proc.stdout.decode('utf-8').strip().splitlines()[-1])
    except subprocess.TimeoutExpired:
        reasons = dict.fromkeys(backends, 'importing the runtimes took over 300 s')
    except (ValueError, IndexError):
        tail = proc.stderr.decode('utf-8', 'replace').strip().splitlines()[-1:] or ['']
        reasons = {name: 'could not check (exit %s): %s' % (proc.returncode, tail[0])
                   for name in backends}
    available = [name for name in backends if not reasons.get(name)]
    unavailable = ['%s: %s' % (name, reasons[name].replace(';', ','))
                   for name in backends if reasons.get(name)]
    return available, '; '.join(unavailable)


def run(settings):
    """Run the benchmark ``settings``: ``{name: value}`` for each of schema.BENCH_RUN."""
    run_settings = dict(schema.BENCH_RUN_DEFAULTS, **settings)
    backends, models = split_list(run_settings['backends']), split_list(run_settings['models'])
    device, precision = run_settings['device'], run_settings['precision']
    check_request(backends, models, precision, device, run_settings['warmup'],
                  run_settings['iterations'])
    sequential, why = choose_sequential(run_settings['sequential'])
    _log.info('%s (%s)' % ('sequential: one classifier node at a time' if sequential else
                           'one classifier node per backend, all started at once', why))
    available, unavailable = split_available(backends)
    if 'chainer' in available and all(is_model_file(m.strip()) for m in models):
        available.remove('chainer')
        unavailable = '; '.join(filter(None, [unavailable, 'chainer: Chainer cannot run ONNX '
                                              'files (use onnxruntime or tensorrt)']))
    env = large_frame_env()
    env.setdefault('PYTHONUNBUFFERED', '1')
    procs = []

    def start(backend):
        params = classifier_params(backend, device, precision, run_settings['cache_dir'],
                                   models[0], run_settings['weights'], models)
        procs.insert(0, NodeProcess('trt_classifier.classifier_node',
                                    ros_args('/' + backend, params), env=env))

    waiting = list(available)
    try:
        for backend in waiting[:1] if sequential else waiting:
            start(backend)
        del waiting[:1 if sequential else len(waiting)]
        bench_params = bench_node_params(run_settings, backends, models, unavailable,
                                         sequential)
        bench_params['output_dir'] = os.path.abspath(bench_params['output_dir'])
        bench = NodeProcess('trt_classifier.bench_node', ros_args(None, bench_params), env=env)
        procs.append(bench)

        def next_classifier():  # sequential: the previous node has exited, start the next
            if waiting and procs[0] is not bench and procs[0].poll() is not None:
                start(waiting.pop(0))

        try:
            code = _follow(bench, tick=next_classifier)
        except KeyboardInterrupt:  # let the bench write what it measured, then stop the rest
            bench.proc.send_signal(signal.SIGINT)
            code = _follow(bench, timeout=60.0)
    finally:
        for proc in procs:
            proc.stop(signal.SIGINT, 10.0)
            if proc is not procs[-1] and proc.poll() not in (0, None):
                _log.warning('%s exited with %s:\n%s' % (proc.module, proc.poll(),
                                                         proc.output()[-2000:]))
            proc.cleanup()
    return code


def _follow(proc, timeout=None, tick=None):
    """Stream the bench's log to the terminal until it exits; return its exit code.

    ``tick`` is called every half second meanwhile.
    """
    position = 0
    end = None if timeout is None else time.monotonic() + timeout
    while True:
        if tick is not None:
            tick()
        code = proc.poll()
        if code is None and end is not None and time.monotonic() > end:
            code = 130
        text = proc.output()
        sys.stdout.write(text[position:])
        sys.stdout.flush()
        position = len(text)
        if code is not None:
            return code
        time.sleep(0.5)
