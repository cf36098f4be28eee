# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Print TensorRT-RTX build time, engine size and peak memory per model and precision.

Usage: ``python tools/engine_build_table.py [--cache-dir DIR] [model ...]``. The ONNX exports
(and their fp16 versions) are made first, in child processes, in ``DIR`` (default: a fresh
temporary cache); then each engine is built by ``trt-classifier build-engine`` in a child process
of its own, into an empty engine cache, so every build is a miss. Reported per build: the
builder's own time (from the ``built ... in X s`` log line), the engine file's size, the child's
CPU time (user + system) and its peak resident memory (``ru_maxrss`` from ``os.wait4``: the whole
process, Python and the TensorRT-RTX libraries included). Targets: the default portable set.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

PRECISIONS = ('fp32', 'fp16')


def _child(args, env=None):
    """Run ``python args...``; return ``(exit code, output, rusage)``."""
    proc = subprocess.Popen([sys.executable] + list(args), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env)
    out = proc.stdout.read().decode('utf-8', 'replace')
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # novermin (tool, not runtime code)
    return proc.returncode, out, usage


def prepare(cache, model):
    """Export ``model`` (random weights) and convert it to fp16, in a child process."""
    code = ('import sys\n'
            'from trt_classifier import artefacts\n'
            'weights = artefacts.resolve_weights(sys.argv[1], "random", sys.argv[2])\n'
            'artefacts.onnx_fp16(artefacts.onnx_export(weights))\n')
    code_, out, _usage = _child(['-c', code, model, cache])
    if code_:
        raise SystemExit('preparing %s failed:\n%s' % (model, out))


def build(cache, model, precision):
    """Build one engine into an empty engine cache; return the table's cells."""
    scratch = tempfile.mkdtemp(prefix='engine-table-')
    os.makedirs(os.path.join(scratch, 'onnx'))
    for name in os.listdir(os.path.join(cache, 'onnx')):
        if name.startswith(model + '-'):
            os.link(os.path.join(cache, 'onnx', name), os.path.join(scratch, 'onnx', name))
    code, out, usage = _child(['-m', 'trt_classifier.cli', '--cache-dir', scratch,
                               'build-engine', '--model', model, '--precision', precision,
                               '--runtime', 'tensorrt_rtx'])
    if code:
        raise SystemExit('building %s %s failed:\n%s' % (model, precision, out))
    path = out.strip().splitlines()[-1]
    seconds = float(re.search(r'built the TensorRT engine for .* in ([0-9.]+) s', out).group(1))
    size = os.path.getsize(path) / 1e6
    cpu = usage.ru_utime + usage.ru_stime
    subprocess.call(['rm', '-rf', scratch])
    return [model, precision, '%.1f' % seconds, '%.1f' % size, '%.1f' % cpu,
            '%.0f' % (usage.ru_maxrss / 1024.0)]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--cache-dir', default=None)
    parser.add_argument('models', nargs='*')
    args = parser.parse_args(argv)
    from trt_classifier import models
    names = args.models or sorted(models.MODELS)
    cache = args.cache_dir or tempfile.mkdtemp(prefix='engine-table-cache-')
    print('| model | precision | build s | engine MB | process CPU s | peak RSS MiB |')
    print('|---|---|---:|---:|---:|---:|')
    for model in names:
        prepare(cache, model)
        for precision in PRECISIONS:
            print('| %s |' % ' | '.join(build(cache, model, precision)))
            sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
