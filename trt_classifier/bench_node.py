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
"""

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

from trt_classifier import env_info, report, rosutil
from trt_classifier.bench_runner import check_request
from trt_classifier.errors import ClassifierError
from trt_classifier.frames import FrameSource
from trt_classifier.imgconv import rgb_to_image_msg

STUDY_MODELS = 'vgg16,resnet101,squeezenet1_1,efficientnet_lite0'

PARAMS = [
    ('backends', 'chainer,onnxruntime,tensorrt,null',
     'comma-separated backends, one node each, in namespace /<backend>'),
    ('models', STUDY_MODELS, 'comma-separated models'),
    ('weights', 'auto', 'auto (pretrained where available, else random), random or pretrained'),
    ('warmup', 1, 'untimed frames per (model, backend)'),
    ('iterations', 100, 'timed frames per (model, backend)'),
    ('precision', 'fp32', 'fp32 or fp16 (tensorrt)'),
    ('frames', 'samples', 'samples, an image, a folder or a video'),
    ('frame_width', 0, 'resize input frames to this width (0: keep)'),
    ('frame_height', 0, 'resize input frames to this height (0: keep)'),
    ('timeout_s', 30.0, "seconds to wait for one frame's result"),
    ('load_timeout_s', 900.0, 'seconds to wait for a model to load (engine builds are slow)'),
    ('startup_timeout_s', 60.0, 'seconds to wait for a classifier node to appear'),
    ('unavailable', '', 'backends known to be unavailable, "name: reason; ..." (set by the '
                        'runner)'),
    ('output_dir', 'results', 'where the JSON, CSV and PNG go'),
    ('sequential', False, 'one classifier node alive at a time: all models of a backend, then '
                          'that node is stopped (SIGINT) and the runner/launch starts the next'),
]


def split_list(text):
    return [item.strip() for item in text.split(',') if item.strip()]


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
        for name, default, text in PARAMS:
            self.declare_parameter(name, default, rosutil.descriptor(text, read_only=True))
        self.p = {name: self.get_parameter(name).value for name, _d, _t in PARAMS}
        self.backends = split_list(self.p['backends'])
        self.models = split_list(self.p['models'])
        check_request(self.backends, self.models, self.p['precision'], warmup=self.p['warmup'],
                      iterations=self.p['iterations'])
        source = FrameSource(self.p['frames'], loop=False,
                             size=(self.p['frame_width'], self.p['frame_height']))
        self.frames = []
        frame = source.read()
        while frame is not None and len(self.frames) < 16:
            self.frames.append(rgb_to_image_msg(frame, 'rgb8', frame_id='bench'))
            frame = source.read()
        source.close()
        if not self.frames:
            raise ClassifierError('no frames could be read from %s' % self.p['frames'])

        self.cond = threading.Condition()
        self.results = {}
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
        for item in filter(None, self.p['unavailable'].split(';')):
            name, _sep, reason = item.partition(':')
            status[name.strip()] = 'unavailable: ' + reason.strip()
        sequential = self.p['sequential']
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
        for path in report.save(result, self.p['output_dir']):
            log.info('wrote %s' % path)
        return 0 if succeeded(runs, self.backends) else 3

    def _check_started(self, backend, status):
        if status[backend] is None and not self._wait_backend(backend):
            status[backend] = ('unavailable: no classifier node answered in /%s within '
                               '%.0f s' % (backend, self.p['startup_timeout_s']))
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
        facts = {k: self.p[k] for k in ('warmup', 'iterations', 'precision', 'weights',
                                        'frames', 'timeout_s')}
        facts['backends'] = self.backends
        facts['models'] = self.models
        facts['frame_size'] = ', '.join(sorted(
            {'%dx%d' % (f.width, f.height) for f in self.frames})) + ' rgb8'
        facts['loop'] = 'closed (one frame in flight)'
        facts['sequential'] = self.p['sequential']
        return facts

    def _wait_backend(self, backend):
        end = time.monotonic() + self.p['startup_timeout_s']
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
            string_param('model', model), string_param('weights', self.p['weights']),
            string_param('precision', self.p['precision'])])
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
        while warm < self.p['warmup'] and not self.stopping:
            # resend until the node has loaded the model and answered with it
            frame_id, _start = self._send(backend, warm, '%s-%s-warm' % (backend, model))
            self._wait(lambda: frame_id in self.results, 5.0)
            result = self.results.pop(frame_id, None)
            requested = 'requested %s/%s' % (backend, model)
            if result is not None and result['model'] == model:
                warm += 1
                run.info = {k: result[k] for k in ('device', 'precision', 'weights')}
            elif self.load_errors.get(backend, '').startswith(requested):
                run.error = self.load_errors[backend]
                log.error('%s/%s: %s' % (backend, model, run.error))
                return run
            elif self.count_subscribers('/%s/image' % backend) == 0:
                run.error = 'the classifier node in /%s has gone (see its log)' % backend
                log.error('%s/%s: %s' % (backend, model, run.error))
                return run
            elif time.monotonic() - run.created > self.p['load_timeout_s']:
                run.error = 'model did not load within %.0f s' % self.p['load_timeout_s']
                return run
            elif result is not None:
                time.sleep(0.5)  # still answered by the previous model: loading
        for i in range(self.p['iterations']):
            if self.stopping:
                run.error = 'interrupted after %d frames' % i
                return run
            frame_id, start = self._send(backend, i, '%s-%s-t' % (backend, model))
            if not self._wait(lambda: frame_id in self.results, self.p['timeout_s']):
                run.error = 'no result for frame %d within %.0f s' % (i, self.p['timeout_s'])
                if self.stopping:
                    run.error = 'interrupted after %d frames' % i
                log.error('%s/%s: %s' % (backend, model, run.error))
                return run
            roundtrip_ms = (time.perf_counter() - start) * 1000.0
            result = self.results.pop(frame_id)
            run.add(i % len(self.frames), result, roundtrip_ms)
            if (i + 1) % 20 == 0 or i + 1 == self.p['iterations']:
                log.info('%s/%s: %d/%d, mean inference %.2f ms' % (
                    backend, model, i + 1, self.p['iterations'], run.mean('inference_ms')))
        return run

    def close(self):
        """On SIGINT/SIGTERM: stop measuring, write the report of what was measured."""
        if self.thread.is_alive():
            self.stopping = True
            self.thread.join(30.0)


def main(args=None):
    return rosutil.run(BenchNode, args=args, logger_name='bench')


if __name__ == '__main__':
    sys.exit(main())
