# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""bench: drive running classifier nodes through the study's protocol, closed loop.

One classifier node per backend runs in its own namespace (``/chainer``, ``/onnxruntime``, ...).
For each model, each backend in turn (never two at once) gets the model through its parameter
service, one untimed warm-up frame, then ``iterations`` timed frames: publish a frame, wait for
that frame's result, publish the next. Per frame it records the node's inference_ms and
total_ms and the bench's round trip (publish -> result, i.e. with DDS transport and conversion).
After each (model, backend) it records the classifier process's peak RSS and its load, export
and build steps' peaks, from the node's diagnostics.

``sequential``: backends one after the other, one classifier node alive at a time (for 4 GB
devices): all models of a backend, then the bench stops that node (SIGINT to the pid its
diagnostics report) and waits for the next backend's node, which the runner or launch file
starts when the previous one has exited.

``rate_hz`` > 0: open loop (camera rate) instead: frames go out at that rate whatever the node
answers, and each run reports where every frame went, the age of the answers and its trend
(trt_classifier/openloop.py); ``find_max_rate`` searches the highest rate each backend sustains.
Every run records the CPU of the classifier and bench processes and of the machine, peak memory,
GPU utilisation and, on a Jetson with readable power rails, energy per answer.
"""

import collections
import itertools
import json
import os
import signal
import sys
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParametersAtomically
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import String

from trt_classifier import env_info, openloop, power, report, resources, rosutil, schema
from trt_classifier.bench_runner import check_request, split_list
from trt_classifier.errors import ClassifierError
from trt_classifier.frames import FrameSource
from trt_classifier.imgconv import rgb_to_image_msg


def model_files(names):
    """``{model: {'file', 'sha256'}}`` for the user models among ``names``.

    ONNX files, and the module file of a Chainer class (found without importing the module).
    """
    import importlib.util
    import os
    from trt_classifier.cache import file_sha256
    from trt_classifier.models import MODELS
    from trt_classifier.models.user import is_dotted
    files = {}
    for name in names:
        if name in MODELS:
            continue
        path = os.path.abspath(os.path.expanduser(name))
        if is_dotted(name):
            try:
                found = importlib.util.find_spec(name.split(':')[0])
                path = found.origin if found is not None else ''
            except (ImportError, ValueError):
                path = ''
        try:
            files[name] = {'file': path, 'sha256': file_sha256(path) if path else ''}
        except ClassifierError as exc:
            files[name] = {'file': path, 'sha256': '', 'error': str(exc)}
    return files


def succeeded(runs, backends):
    """Tell success: a model backend measured frames, or null alone was asked and did."""
    measured = {r.backend for r in runs if r.samples}
    return bool(measured - {'null'}) or (set(backends) == {'null'} and 'null' in measured)


def string_param(name, value):
    return Parameter(name=name, value=ParameterValue(
        type=ParameterType.PARAMETER_STRING, string_value=value))


class BenchNode(Node):

    def __init__(self, **kwargs):
        super(BenchNode, self).__init__('bench', **kwargs)
        for param in schema.BENCH:
            self.declare_parameter(param.name, param.default, rosutil.descriptor(
                param.description, read_only=True))
        # the run's settings, as started (all read-only)
        self.settings = {p.name: self.get_parameter(p.name).value for p in schema.BENCH}
        if self.settings['rate_hz'] < 0 or self.settings['duration_s'] < 0:
            raise ClassifierError('rate_hz and duration_s must be >= 0')
        if not 0 < self.settings['min_rate_hz'] < self.settings['max_rate_hz']:
            raise ClassifierError('the rate search needs 0 < min_rate_hz < max_rate_hz, not '
                                  '%r, %r' % (self.settings['min_rate_hz'],
                                              self.settings['max_rate_hz']))
        if not 0 <= self.settings['drop_threshold'] < 1:
            raise ClassifierError('drop_threshold must be in [0, 1), not %r'
                                  % self.settings['drop_threshold'])
        self.backends = split_list(self.settings['backends'])
        self.models = split_list(self.settings['models'])
        check_request(self.backends, self.models, self.settings['precision'],
                      warmup=self.settings['warmup'], iterations=self.settings['iterations'])
        source = FrameSource(self.settings['frames'], loop=False,
                             size=(self.settings['frame_width'], self.settings['frame_height']))
        self.frames = []
        frame = source.read()
        while frame is not None and len(self.frames) < 16:
            self.frames.append(rgb_to_image_msg(frame, 'rgb8', frame_id='bench'))
            frame = source.read()
        source.close()
        if not self.frames:
            raise ClassifierError('no frames could be read from %s' % self.settings['frames'])

        self.cond = threading.Condition()
        self.results = {}
        self.last_counts = {}  # backend -> node counters of its last closed-loop result
        self.pids = {}  # backend -> process id of its classifier node (from its results)
        self.load_errors = {}
        self.diagnostics = {}  # backend -> (monotonic time, {key: value}) of its last status
        self.frame_ids = itertools.count()
        self.pubs, self.param_clients = {}, {}
        qos = rosutil.make_qos('reliable', 1)
        for backend in self.backends:
            ns = '/' + backend
            self.pubs[backend] = self.create_publisher(Image, ns + '/image', qos)
            self.create_subscription(String, ns + '/result', self._on_result, 10)
            self.param_clients[backend] = self.create_client(
                SetParametersAtomically, ns + '/classifier/set_parameters_atomically')
        self.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics, 10)
        self.finished = False
        self.stopping = False  # set by close(): finish the current wait, report what we have
        self.exit_code = 1
        self.thread = threading.Thread(target=self._run, name='protocol', daemon=True)
        self.thread.start()

    def _on_result(self, msg):
        try:
            result = json.loads(msg.data)
            frame_id = result['frame_id']
        except (ValueError, KeyError, TypeError):
            self.get_logger().warning('ignoring a result that is not a classifier_node record',
                                      throttle_duration_sec=10.0)
            return
        result['bench_received_ns'] = self.get_clock().now().nanoseconds
        result['bench_received_at'] = time.monotonic()
        with self.cond:
            self.results[frame_id] = result
            self.cond.notify_all()

    def _on_diagnostics(self, msg):
        for status in msg.status:
            for backend in self.backends:
                if status.name == '/%s/classifier: classifier' % backend:
                    values = {kv.key: kv.value for kv in status.values}
                    self.load_errors[backend] = values.get('load_error', '')
                    self.diagnostics[backend] = (time.monotonic(), values)

    def _wait(self, predicate, timeout):
        end = time.monotonic() + timeout
        with self.cond:
            while not predicate():
                remaining = end - time.monotonic()
                if remaining <= 0 or self.stopping:
                    return False
                self.cond.wait(min(remaining, 0.1))
        return True

    def _send(self, backend, index, tag):
        msg = self.frames[index % len(self.frames)]
        frame_id = '%s-%d-%d' % (tag, index, next(self.frame_ids))
        msg.header.frame_id = frame_id
        msg.header.stamp = self.get_clock().now().to_msg()
        start = time.perf_counter()
        self.pubs[backend].publish(msg)
        return frame_id, start

    # --- protocol -------------------------------------------------------------------------------
    def _run(self):
        try:
            self.exit_code = self._protocol()
        except Exception as exc:  # report, never hang the launch
            self.get_logger().error('benchmark failed: %s: %s' % (type(exc).__name__, exc))
            self.exit_code = 1
        self.finished = True

    def _protocol(self):
        log = self.get_logger()
        environment = env_info.environment()  # now: imports are slow, an interrupt is not
        status = dict.fromkeys(self.backends)
        for item in filter(None, self.settings['unavailable'].split(';')):
            name, _sep, reason = item.partition(':')
            status[name.strip()] = 'unavailable: ' + reason.strip()
        sequential = self.settings['sequential']
        for backend in [] if sequential else self.backends:
            self._check_started(backend, status)
        runs = []
        if sequential:  # backend by backend, one classifier node alive at a time
            for backend in self.backends:
                if not self.stopping and status[backend] is None:
                    self._check_started(backend, status)
                runs += [self._run_one(model, backend, status) for model in self.models
                         if not self.stopping]
                if status[backend] is None:
                    self._stop_classifier(backend)
        else:
            for model in self.models:
                for backend in self.backends:
                    if not self.stopping:
                        runs.append(self._run_one(model, backend, status))
        facts = self._protocol_facts()
        if self.stopping:
            facts['interrupted'] = True
            log.warning('interrupted: reporting the %d runs measured so far' % len(runs))
        result = report.build(runs, facts, environment)
        log.info('results\n' + report.render(result))
        for path in report.save(result, self.settings['output_dir']):
            log.info('wrote %s' % path)
        return 0 if succeeded(runs, self.backends) else 3

    def _check_started(self, backend, status):
        if status[backend] is None and not self._wait_backend(backend):
            status[backend] = ('unavailable: no classifier node answered in /%s within '
                               '%.0f s' % (backend, self.settings['startup_timeout_s']))
        if status[backend]:
            self.get_logger().warning('%s: %s' % (backend, status[backend]))

    def _run_one(self, model, backend, status):
        if status[backend]:
            return report.Run(model, backend, error=status[backend])
        run = self._measure(model, backend)
        run.memory = self._memory(model, backend)
        return run

    def _memory(self, model, backend, timeout=3.0):
        """Peak RSS of the classifier process and of its load/export/build steps for ``model``.

        From the node's next diagnostics (once a second) that reports ``model`` loaded.
        """
        asked = time.monotonic()
        end = asked + timeout
        while time.monotonic() < end and not self.stopping:
            stamp, values = self.diagnostics.get(backend, (0.0, {}))
            if stamp > asked:
                try:
                    loaded = json.loads(values.get('loaded', '{}'))
                except ValueError:
                    loaded = {}
                if loaded.get('model') == model or 'loaded' not in values:
                    return report.memory_record(values, loaded)
            time.sleep(0.1)
        return {}

    def _stop_classifier(self, backend):
        """Sequential mode: end the node of ``backend`` (its pid from diagnostics)."""
        log = self.get_logger()
        _stamp, values = self.diagnostics.get(backend, (0.0, {}))
        try:
            pid = int(values.get('pid', ''))
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                is_classifier = b'classifier_node' in f.read()
        except (ValueError, OSError):
            pid, is_classifier = None, False
        if not is_classifier:
            log.warning('cannot stop the classifier node in /%s (pid %r unknown here): the '
                        'next backend waits for it to exit' % (backend, pid))
            return
        log.info('sequential: stopping the classifier node in /%s (pid %d)' % (backend, pid))
        os.kill(pid, signal.SIGINT)
        end = time.monotonic() + 30.0
        while self.count_subscribers('/%s/image' % backend) and time.monotonic() < end:
            time.sleep(0.2)

    def _protocol_facts(self):
        facts = {k: self.settings[k] for k in ('warmup', 'iterations', 'precision', 'weights',
                                               'frames', 'timeout_s')}
        facts['backends'] = self.backends
        facts['models'] = self.models
        facts['frame_size'] = ', '.join(sorted(
            {'%dx%d' % (f.width, f.height) for f in self.frames})) + ' rgb8'
        facts['loop'] = 'closed (one frame in flight)'
        facts['sequential'] = self.settings['sequential']
        if self.settings['rate_hz'] > 0:
            facts['loop'] = 'open (fixed rate, drop-oldest node)'
            facts['rate_hz'] = self.settings['rate_hz']
            facts['frames_per_run'] = self._open_loop_count(
                self.settings['rate_hz'], self.settings['duration_s'], self.settings['iterations'])
            facts['duration_s'] = self.settings['duration_s']
        if self.settings['find_max_rate']:
            facts['rate_search'] = {k: self.settings[k] for k in (
                'drop_threshold', 'min_rate_hz', 'max_rate_hz', 'search_duration_s')}
        facts['model_files'] = model_files(self.models)
        return facts

    def _wait_backend(self, backend):
        end = time.monotonic() + self.settings['startup_timeout_s']
        topic = '/%s/image' % backend
        while time.monotonic() < end and not self.stopping:
            client = self.param_clients[backend]
            if self.count_subscribers(topic) > 0 and client.service_is_ready():
                return True
            time.sleep(0.2)
        return False

    def _configure(self, model, backend):
        # atomically: one reload for model, weights and precision together
        request = SetParametersAtomically.Request(parameters=[
            string_param('model', model), string_param('weights', self.settings['weights']),
            string_param('precision', self.settings['precision'])])
        self.load_errors[backend] = ''
        future = self.param_clients[backend].call_async(request)
        done = threading.Event()
        future.add_done_callback(lambda f: done.set())
        end = time.monotonic() + 30.0
        while not done.wait(0.1):
            if self.stopping or time.monotonic() > end:
                return 'parameter service of /%s/classifier did not answer' % backend
        result = future.result().result
        return '' if result.successful else 'rejected: %s' % result.reason

    def _measure(self, model, backend):
        log = self.get_logger()
        run = report.Run(model, backend)
        error = self._configure(model, backend)
        if error:
            run.error = error
            log.error('%s/%s: %s' % (backend, model, error))
            return run
        log.info('%s/%s: loading and warming up' % (backend, model))
        warm = 0
        while warm < self.settings['warmup'] and not self.stopping:
            # resend until the node has loaded the model and answered with it
            frame_id, _start = self._send(backend, warm, '%s-%s-warm' % (backend, model))
            self._wait(lambda: frame_id in self.results, 5.0)
            result = self.results.pop(frame_id, None)
            requested = 'requested %s/%s' % (backend, model)
            if result is not None and result['model'] == model:
                warm += 1
                run.info = {k: result[k] for k in ('device', 'precision', 'weights')}
                self._remember_counts(backend, result)
            elif self.load_errors.get(backend, '').startswith(requested):
                run.error = self.load_errors[backend]
                log.error('%s/%s: %s' % (backend, model, run.error))
                return run
            elif self.count_subscribers('/%s/image' % backend) == 0:
                run.error = 'the classifier node in /%s has gone (see its log)' % backend
                log.error('%s/%s: %s' % (backend, model, run.error))
                return run
            elif time.monotonic() - run.created > self.settings['load_timeout_s']:
                run.error = 'model did not load within %.0f s' % self.settings['load_timeout_s']
                return run
            elif result is not None:
                time.sleep(0.5)  # still answered by the previous model: loading
        with Sampled(run, self.pids.get(backend)):
            if self.settings['rate_hz'] > 0:
                self._measure_open_loop(run, backend, model)
            else:
                self._measure_closed_loop(run, backend, model)
        if self.settings['find_max_rate'] and not run.error and not self.stopping:
            self._search_rate(run, backend, model)
        return run

    def _measure_closed_loop(self, run, backend, model):
        log = self.get_logger()
        for i in range(self.settings['iterations']):
            if self.stopping:
                run.error = 'interrupted after %d frames' % i
                return run
            frame_id, start = self._send(backend, i, '%s-%s-t' % (backend, model))
            if not self._wait(lambda: frame_id in self.results, self.settings['timeout_s']):
                run.error = 'no result for frame %d within %.0f s' % (
                    i, self.settings['timeout_s'])
                if self.stopping:
                    run.error = 'interrupted after %d frames' % i
                log.error('%s/%s: %s' % (backend, model, run.error))
                return run
            roundtrip_ms = (time.perf_counter() - start) * 1000.0
            result = self.results.pop(frame_id)
            self._remember_counts(backend, result)
            run.add(i % len(self.frames), result, roundtrip_ms)
            if (i + 1) % 20 == 0 or i + 1 == self.settings['iterations']:
                log.info('%s/%s: %d/%d, mean inference %.2f ms' % (
                    backend, model, i + 1, self.settings['iterations'], run.mean('inference_ms')))
        return run

    # --- open loop (camera rate) ----------------------------------------------------------------
    def _remember_counts(self, backend, result):
        if result.get('counts'):
            self.last_counts[backend] = result['counts']
        if result.get('pid'):
            self.pids[backend] = result['pid']

    @staticmethod
    def _open_loop_count(rate_hz, duration_s, default=None):
        return max(1, int(round(rate_hz * duration_s))) if duration_s > 0 else default

    def _marker(self, backend, tag):
        """Send a closed-loop frame while nothing else is in flight; return its counters."""
        for attempt in range(3):
            frame_id, _start = self._send(backend, 0, '%s-marker%d' % (tag, attempt))
            if self._wait(lambda: frame_id in self.results, 5.0):
                result = self.results.pop(frame_id)
                self._remember_counts(backend, result)
                return result.get('counts'), attempt + 1
            if self.stopping:
                break
        return None, 3

    def _open_loop(self, backend, tag, rate_hz, count, samples=None):
        """Publish ``count`` frames at ``rate_hz``; return the run's open-loop record.

        Answered frames are added to ``samples`` (a report.Run) when given.
        """
        before = self.last_counts.get(backend)
        sent = []  # (frame_id, frame index, send clock, stamp ns)

        def publish(i):
            index = i % len(self.frames)
            msg = self.frames[index]
            msg.header.frame_id = '%s-o%d-%d' % (tag, i, next(self.frame_ids))
            now = self.get_clock().now()
            msg.header.stamp = now.to_msg()
            sent.append((msg.header.frame_id, index, time.monotonic(), now.nanoseconds))
            self.pubs[backend].publish(msg)

        send_times = openloop.send_at_rate(publish, rate_hz, count, lambda: self.stopping)
        self._settle({f for f, _i, _t, _s in sent})
        after, markers = self._marker(backend, tag)
        answers = []
        for frame_id, index, sent_at, stamp_ns in sent:
            result = self.results.pop(frame_id, None)
            if result is None:
                continue
            age_ms = (result['bench_received_ns'] - stamp_ns) / 1e6
            answers.append((sent_at, result['bench_received_at'], age_ms))
            if samples is not None:
                samples.add(index, result, age_ms, extra=[
                    ('sent_s', sent_at - send_times[0]), ('age_ms', age_ms),
                    ('node_age_ms', result.get('age_ms'))])
        node = openloop.counter_delta(before, after, markers)
        record = openloop.summarize_run(rate_hz, send_times, answers, node)
        if markers > 1:
            record['marker_frames'] = markers
        return record

    def _settle(self, frame_ids):
        """Wait until every frame is answered, or no answer came for a while."""
        last_count, last_change = -1, time.monotonic()
        end = time.monotonic() + self.settings['timeout_s']
        quiet_s = 1.0
        while time.monotonic() < end and not self.stopping:
            with self.cond:
                answered = [self.results[f] for f in frame_ids if f in self.results]
            if len(answered) == len(frame_ids):
                return
            if len(answered) != last_count:
                last_count, last_change = len(answered), time.monotonic()
                if answered:  # slow models: wait longer than the oldest answer took
                    latest = max(r['bench_received_ns'] - r['stamp_ns'] for r in answered)
                    quiet_s = max(1.0, 2.0 * latest / 1e9)
            elif time.monotonic() - last_change > quiet_s:
                return
            time.sleep(0.05)

    def _measure_open_loop(self, run, backend, model):
        log = self.get_logger()
        rate = self.settings['rate_hz']
        count = self._open_loop_count(rate, self.settings['duration_s'],
                                      self.settings['iterations'])
        log.info('%s/%s: open loop, %d frames at %.1f Hz' % (backend, model, count, rate))
        record = self._open_loop(backend, '%s-%s' % (backend, model), rate, count, run)
        run.open_loop = record
        if self.stopping:
            run.error = 'interrupted after %d frames' % record['sent']
        log.info('%s/%s: %s' % (backend, model, openloop.describe(record)))

    def _search_rate(self, run, backend, model):
        log = self.get_logger()

        def trial(rate):
            count = max(openloop.MIN_PROBE_FRAMES,
                        self._open_loop_count(rate, self.settings['search_duration_s']))
            record = self._open_loop(backend, '%s-%s-search' % (backend, model), rate, count)
            log.info('%s/%s: probe %.1f Hz: %s' % (
                backend, model, rate, openloop.describe(record)))
            return record
        log.info('%s/%s: searching the highest sustained rate in %.1f..%.1f Hz' % (
            backend, model, self.settings['min_rate_hz'], self.settings['max_rate_hz']))
        run.rate_search = openloop.find_max_rate(
            trial, self.settings['min_rate_hz'], self.settings['max_rate_hz'],
            self.settings['drop_threshold'], should_stop=lambda: self.stopping)
        log.info('%s/%s: highest sustained rate %.1f Hz (%s)' % (
            backend, model, run.rate_search['max_rate_hz'], run.rate_search['bounded_by']))

    def close(self):
        """On SIGINT/SIGTERM: stop measuring, write the report of what was measured."""
        if self.thread.is_alive():
            self.stopping = True
            self.thread.join(30.0)


class Sampled(object):
    """Record CPU, memory, GPU and energy of a run in ``run.resources`` (``with`` block).

    The classifier node's process id comes from its results; the bench's own process is sampled
    too, since on a small machine the publisher competes with the classifier.
    """

    def __init__(self, run, classifier_pid):
        pids = collections.OrderedDict([('classifier', classifier_pid), ('bench', os.getpid())])
        self.run = run
        self.sampler = resources.Sampler(
            collections.OrderedDict((k, v) for k, v in pids.items() if v))
        self.device = power.DeviceSampler()

    def __enter__(self):
        self.loadavg = os.getloadavg()[0] if hasattr(os, 'getloadavg') else None
        self.sampler.start()
        self.device.start()
        return self

    def __exit__(self, *exc):
        summary = self.sampler.stop()
        device = self.device.stop(answers=len(self.run.samples))
        gpu = device['gpu']
        if gpu is None and summary.get('gpu_load_percent') is not None:  # Jetson sysfs
            gpu = {'util_percent': summary['gpu_load_percent'], 'source': 'Jetson GPU load'}
        self.run.resources = collections.OrderedDict([
            ('processes', summary['processes']),
            ('machine', {'cpu_percent': summary['machine_cpu_percent'],
                         'cores': summary['cores'], 'loadavg_1min_at_start': self.loadavg}),
            ('gpu', gpu), ('energy', device['energy'])])
        return False


def main(args=None):
    return rosutil.run(BenchNode, args=args, logger_name='bench')


if __name__ == '__main__':
    sys.exit(main())
