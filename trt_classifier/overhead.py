# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""``trt-classifier overhead``: what the package costs around the model, on this machine.

1. **CPU per frame.** A null-backend classifier node and an *echo node* (subscribes to the same
   kind of Image topic, publishes one String per frame, nothing else) run side by side; one
   client sends them frames alternately, closed loop, over the same DDS. Reported per frame:
   the classifier's own work (``node_cpu_ms``/``node_ms``: subscription callback entry to the
   result publish, from the result record), the CPU time of each whole process (``/proc``, so
   rclpy's deserialisation, the executor and DDS threads are in it) and the round trips, with
   the ratio classifier/echo. ``--pin-core N`` runs both nodes under ``taskset -c N``.
2. **Memory of every step.** ``trt-classifier export`` of a model in its own process (peak RSS
   from ``wait4``), optionally ``trt-classifier build-engine`` the same way (``--build``), then
   a classifier node per backend serving that model (peak and resident RSS from ``/proc`` after
   a few frames).

Everything runs in its own ROS domain (``--domain-id``; default: one picked from the process
id), so that nodes of the same names elsewhere on the network never answer. Prints a table with
the machine and versions and writes ``overhead.json``. A benchmark, not a test: it asserts
nothing.
"""

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time

from trt_classifier import env_info, resources
from trt_classifier.procs import large_frame_env, NodeProcess, ros_args
from trt_classifier.stats import summarize

ECHO_USAGE = 'python -m trt_classifier.overhead echo [--ros-args ...]'


def echo_node_class():
    from rclpy.node import Node
    from sensor_msgs.msg import Image
    from std_msgs.msg import String
    from trt_classifier import rosutil

    class EchoNode(Node):
        """Answer every Image on ``image`` with its frame_id on ``result``, and do nothing else."""

        def __init__(self, **kwargs):
            super(EchoNode, self).__init__('echo', **kwargs)
            self.pub = self.create_publisher(String, 'result', 10)
            self.create_subscription(Image, 'image', self._on_image,
                                     rosutil.make_qos('reliable', 1))

        def _on_image(self, msg):
            self.pub.publish(String(data=json.dumps({'frame_id': msg.header.frame_id})))

    return EchoNode


class Client(object):
    """Publish frames to ``/<name>/image`` and wait for ``/<name>/result``, one at a time."""

    def __init__(self, names, frame):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor
        from sensor_msgs.msg import Image
        from std_msgs.msg import String
        from trt_classifier import rosutil
        self.context = rclpy.context.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node('overhead_client', context=self.context)
        self.cond = threading.Condition()
        self.results = {}
        self.pubs = {}
        for name in names:
            self.pubs[name] = self.node.create_publisher(
                Image, '/%s/image' % name, rosutil.make_qos('reliable', 1))
            self.node.create_subscription(String, '/%s/result' % name, self._on_result, 10)
        self.frame = frame
        self.count = 0
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.thread = threading.Thread(target=self._spin, daemon=True)
        self.running = True
        self.thread.start()

    def _spin(self):
        while self.running:
            self.executor.spin_once(timeout_sec=0.05)

    def _on_result(self, msg):
        result = json.loads(msg.data)
        with self.cond:
            self.results[result['frame_id']] = result
            self.cond.notify_all()

    def ready(self, name):
        return self.node.count_subscribers('/%s/image' % name) > 0

    def send(self, name, timeout=10.0):
        """Return ``(round trip ms, result)``, or ``(None, None)`` on timeout."""
        self.count += 1
        frame_id = '%s-%d' % (name, self.count)
        self.frame.header.frame_id = frame_id
        self.frame.header.stamp = self.node.get_clock().now().to_msg()
        start = time.perf_counter()
        self.pubs[name].publish(self.frame)
        end = time.monotonic() + timeout
        with self.cond:
            while frame_id not in self.results:
                if time.monotonic() > end:
                    return None, None
                self.cond.wait(0.05)
            roundtrip = (time.perf_counter() - start) * 1000.0
            return roundtrip, self.results.pop(frame_id)

    def close(self):
        self.running = False
        self.thread.join(2.0)
        self.executor.shutdown()
        self.node.destroy_node()
        import rclpy
        rclpy.try_shutdown(context=self.context)


def _frame(width, height):
    import numpy
    from trt_classifier.imgconv import rgb_to_image_msg
    rgb = numpy.random.RandomState(0).randint(0, 256, (height, width, 3)).astype(numpy.uint8)
    return rgb_to_image_msg(rgb, 'rgb8')


def private_domain(domain_id=None):
    """Use ``domain_id`` (default: 1 + pid % 100) for this process and the nodes it starts."""
    domain = 1 + os.getpid() % 100 if domain_id is None else int(domain_id)
    os.environ['ROS_DOMAIN_ID'] = str(domain)
    return domain


def _env(source):
    env = large_frame_env()
    env.setdefault('PYTHONUNBUFFERED', '1')
    if source:  # measure another source tree (before/after comparisons)
        env['PYTHONPATH'] = os.path.abspath(source) + os.pathsep + env.get('PYTHONPATH', '')
    return env


def _child(source):
    """Popen settings of a process that runs ``source``'s code (None: this tree's).

    ``python -m`` puts its working directory before PYTHONPATH, so a run started inside a
    checkout would import that checkout: the process runs in the source tree itself.
    """
    return {'env': _env(source), 'cwd': os.path.abspath(source) if source else None}


def _wait(condition, timeout, procs):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError('%s exited with %s:\n%s' % (
                    proc.module, proc.poll(), proc.output()[-2000:]))
        time.sleep(0.1)
    return False


def _median(values):
    values = [v for v in values if v is not None]
    return summarize(values)['median_ms'] if values else None


def measure_cpu(size, frames, warmup=30, pin_core=None, source=None, model='efficientnet_lite0',
                log=print, baseline=None):
    """Null classifier vs echo node at ``size`` (w, h); return the figures of one run.

    ``baseline``: a source tree whose null classifier (``/baseline``) runs beside them, each
    frame sent to all three in turn: before and after in one sitting, under the same load. Its
    figures are under ``baseline``.
    """
    prefix = ['taskset', '-c', str(pin_core)] if pin_core is not None else []
    trees = [('null', source)] + ([('baseline', baseline)] if baseline else [])
    procs = {name: NodeProcess('trt_classifier.classifier_node', ros_args('/' + name, {
        'backend': 'null', 'model': model, 'weights': 'random', 'image_qos': 'reliable',
        'silence_timeout_s': 3600.0}), prefix=prefix, **_child(tree)) for name, tree in trees}
    procs['echo'] = NodeProcess('trt_classifier.overhead', ['echo'] + ros_args('/echo'),
                                prefix=prefix, **_child(None))  # always this tree's
    names = [name for name, _tree in trees] + ['echo']
    client = Client(names, _frame(*size))
    try:
        if not _wait(lambda: all(client.ready(n) for n in names), 60, list(procs.values())):
            raise RuntimeError('the nodes did not subscribe within 60 s')
        for i in range(warmup):  # a classifier answers once its backend is loaded
            for name in names:
                roundtrip, _result = client.send(name, 30.0)
                if roundtrip is None:
                    raise RuntimeError('no answer from /%s during warm-up:\n%s' % (
                        name, procs[name].output()[-2000:]))
        rows = {name: [] for name in names}
        sampler = resources.Sampler({n: p.pid for n, p in procs.items()}, interval_s=0.5).start()
        for i in range(frames):
            first = i % len(names)  # each node in turn goes first
            for name in names[first:] + names[:first]:
                roundtrip, result = client.send(name)
                if roundtrip is None:
                    raise RuntimeError('no answer from /%s for frame %d' % (name, i))
                rows[name].append((roundtrip, result))
        usage = sampler.stop()
    finally:
        client.close()
        for proc in procs.values():
            proc.stop(signal.SIGINT, 10.0)
            proc.cleanup()
    echo_roundtrip = _median([t for t, _r in rows['echo']])
    figures = {name: _classifier_figures(rows[name], echo_roundtrip, usage['processes'][name],
                                         frames) for name, _tree in trees}
    out = {'frame': '%dx%d rgb8' % size, 'frames': frames, 'pin_core': pin_core}
    out.update((k, v) for k, v in figures['null'].items() if k != 'process_cpu_ms_per_frame')
    out['echo_roundtrip_ms'] = echo_roundtrip
    out['null_process_cpu_ms_per_frame'] = figures['null']['process_cpu_ms_per_frame']
    out['echo_process_cpu_ms_per_frame'] = _cpu_per_frame(usage['processes']['echo'], frames)
    out['machine_cpu_percent'] = usage['machine_cpu_percent']
    if baseline:
        out['baseline'] = figures['baseline']
    for name, _tree in trees:
        fig = figures[name]
        log('  %s%s%s: node %s ms CPU (%s ms wall), process %.3f ms CPU/frame (echo %.3f); '
            'round trip %.3f ms vs echo %.3f ms = %.2fx' % (
                out['frame'], ' pinned to core %s' % pin_core if pin_core is not None else '',
                ', baseline' if name == 'baseline' else '', _fmt(fig['node_cpu_ms']),
                _fmt(fig['node_ms']), fig['process_cpu_ms_per_frame'],
                out['echo_process_cpu_ms_per_frame'], fig['roundtrip_ms'], echo_roundtrip,
                fig['roundtrip_ratio']))
    return out


def _cpu_per_frame(stats, frames):
    return 1000.0 * (stats or {}).get('cpu_s', float('nan')) / frames


def _classifier_figures(rows, echo_roundtrip, stats, frames):
    """Medians of one classifier's result records and round trips, and its process CPU."""
    results = [r for _t, r in rows]
    figures = {name: _median([r.get(name) for r in results])
               for name in ('node_cpu_ms', 'node_ms', 'preprocess_ms')}
    figures['roundtrip_ms'] = _median([t for t, _r in rows])
    figures['roundtrip_ratio'] = figures['roundtrip_ms'] / echo_roundtrip
    figures['process_cpu_ms_per_frame'] = _cpu_per_frame(stats, frames)
    return figures


def _fmt(value):
    return '-' if value is None else '%.3f' % value


def measure_memory(model, backends, cache_dir, source=None, frames=3, build_precisions=(),
                   log=print):
    """Peak RSS of the export step, of engine builds and of one classifier node per backend.

    Export and builds run as ``trt-classifier`` commands in fresh processes (peak from
    ``wait4``); a build where no TensorRT can be imported is reported as failed, with why.
    """
    child = _child(source)
    cli = [sys.executable, '-m', 'trt_classifier.cli', '--cache-dir', cache_dir]
    commands = [('export %s' % model, ['export', '--model', model, '--weights', 'random'])]
    commands += [('build-engine %s %s' % (model, precision),
                  ['build-engine', '--model', model, '--weights', 'random', '--precision',
                   precision]) for precision in build_precisions]
    steps = []
    for name, args in commands:
        done = resources.run_measured(cli + args, timeout=3600, **child)
        steps.append({'step': name, 'peak_rss_mb': done['peak_rss_mb'],
                      'seconds': done['seconds'], 'ok': done['returncode'] == 0})
        tail = done['output'].strip().splitlines()[-1:] or ['']
        log('  %s: peak RSS %.0f MB in %.0f s%s' % (
            name, done['peak_rss_mb'], done['seconds'],
            '' if done['returncode'] == 0 else ' (FAILED: %s)' % tail[0]))
    for backend in backends:
        steps.append(_serve(model, backend, cache_dir, child, frames, log))
    return steps


def _serve(model, backend, cache_dir, child, frames, log):
    node = NodeProcess('trt_classifier.classifier_node', ros_args('/' + backend, {
        'backend': backend, 'model': model, 'weights': 'random', 'cache_dir': cache_dir,
        'image_qos': 'reliable', 'silence_timeout_s': 3600.0}), **child)
    client = Client([backend], _frame(640, 480))
    step = {'step': 'classifier node %s %s' % (backend, model), 'ok': False}
    try:
        if _wait(lambda: client.ready(backend), 60, [node]):
            answered = 0
            end = time.monotonic() + 900
            while answered < frames and time.monotonic() < end and node.poll() is None:
                roundtrip, _result = client.send(backend, 10.0)
                answered += roundtrip is not None
            sample = resources.read_process(node.pid) or {}
            step.update(ok=answered == frames, peak_rss_mb=sample.get('peak_rss_mb'),
                        rss_mb=sample.get('rss_mb'))
    finally:
        client.close()
        node.stop(signal.SIGINT, 10.0)
        node.cleanup()
    log('  %s: peak RSS %s MB, resident %s MB after %d frames%s' % (
        step['step'], _fmt0(step.get('peak_rss_mb')), _fmt0(step.get('rss_mb')), frames,
        '' if step['ok'] else ' (FAILED)'))
    return step


def _fmt0(value):
    return '-' if value is None else '%.0f' % value


def render(result):
    env = result['environment']
    lines = []
    if result['cpu']:
        lines = ['Node CPU per frame (null backend; median of %d frames per run):' % (
            result['frames']),
            '| frame | pinned | node CPU ms | node wall ms | process CPU ms/frame | echo '
            'process CPU ms/frame | round trip ms | echo round trip ms | ratio |',
            '|---|---|---|---|---|---|---|---|---|']
    for run in result['cpu']:
        rows = [(run['frame'], run, run['null_process_cpu_ms_per_frame'])]
        if run.get('baseline'):
            base = run['baseline']
            rows.append((run['frame'] + ', baseline', base, base['process_cpu_ms_per_frame']))
        for frame, fig, process_cpu in rows:
            lines.append('| %s | %s | %s | %s | %.3f | %.3f | %.3f | %.3f | %.2fx |' % (
                frame, '-' if run['pin_core'] is None else 'core %d' % run['pin_core'],
                _fmt(fig['node_cpu_ms']), _fmt(fig['node_ms']), process_cpu,
                run['echo_process_cpu_ms_per_frame'], fig['roundtrip_ms'],
                run['echo_roundtrip_ms'], fig['roundtrip_ratio']))
    if result['memory']:
        lines += ['', 'Peak memory per step:', '| step | peak RSS MB | resident MB |',
                  '|---|---|---|']
        for step in result['memory']:
            lines.append('| %s%s | %s | %s |' % (
                step['step'], '' if step['ok'] else ' (FAILED)',
                _fmt0(step.get('peak_rss_mb')), _fmt0(step.get('rss_mb'))))
    lines.append('')
    lines.append('Machine: %s, %s cores, %s; Python %s, ROS %s; memory %.1f GB' % (
        env.get('cpu'), env.get('cpu_count'), env.get('platform'), env.get('python'),
        env.get('ros_distro'), result['mem_total_mb'] / 1000.0))
    lines.append('Versions: ' + ', '.join('%s %s' % (k, v)
                                          for k, v in env.get('versions', {}).items() if v))
    if result.get('source'):
        lines.append('Nodes run from source tree %s' % result['source'])
    if result.get('baseline'):
        lines.append('Baseline classifier run from source tree %s, side by side' % (
            result['baseline']))
    return '\n'.join(lines)


def run(sizes=((224, 224), (640, 480)), frames=300, runs=3, pin_core=None, memory_model='vgg16',
        memory_backends=('chainer', 'onnxruntime'), cache_dir=None, source=None,
        output_dir=None, domain_id=None, build_precisions=(), log=print, baseline=None):
    domain = private_domain(domain_id)
    environment = env_info.environment()
    result = {'schema': 'trt_classifier.overhead/1', 'frames': frames, 'runs': runs,
              'environment': environment, 'mem_total_mb': resources.mem_total_mb(),
              'source': source, 'baseline': baseline, 'ros_domain_id': domain, 'cpu': [],
              'memory': []}
    pins = [None] if pin_core is None else [None, pin_core]
    for run_index in range(runs):
        log('run %d/%d' % (run_index + 1, runs))
        for pin in pins:
            for size in sizes:
                result['cpu'].append(measure_cpu(size, frames, pin_core=pin, source=source,
                                                 log=log, baseline=baseline))
    if memory_model:
        log('memory of every step (%s, random weights)' % memory_model)
        scratch = None
        if not cache_dir:  # a fresh cache: the export really runs
            scratch = cache_dir = tempfile.mkdtemp(prefix='trt_classifier-overhead-')
        try:
            result['memory'] = measure_memory(memory_model, memory_backends, cache_dir, source,
                                              build_precisions=build_precisions, log=log)
        finally:
            if scratch:
                shutil.rmtree(scratch, ignore_errors=True)
    text = render(result)
    log(text)
    if output_dir:
        os.makedirs(output_dir, exist_ok=True)
        with open(os.path.join(output_dir, 'overhead.json'), 'w') as f:
            json.dump(result, f, indent=1)
        with open(os.path.join(output_dir, 'overhead.md'), 'w') as f:
            f.write(text + '\n')
    return result


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ['echo']:
        sys.stderr.write('usage: %s\n(the benchmark itself is trt-classifier overhead)\n' % (
            ECHO_USAGE))
        return 2
    from trt_classifier import rosutil
    return rosutil.run(echo_node_class(), args=argv, logger_name='echo')


if __name__ == '__main__':
    sys.exit(main())
