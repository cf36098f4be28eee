# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""classifier_node: subscribe ``image``, classify each frame, publish label, score and latencies.

A thin ROS adapter: parameters declared from :mod:`schema` (with their ranges) and handed to the
serving core (:class:`serving.Classifier`: settings, backend, reloads, frame -> result), the image
subscription and its QoS, the publishers and /diagnostics. Inference runs on one worker thread
fed by a size-1 drop-oldest slot, so a slow model always serves the newest frame; every frame is
accounted for in /diagnostics (done, dropped because a newer frame replaced it, rejected as
malformed, failed in inference).
"""

import json
import os
import sys
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, SetParametersResult
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Float64, String

from trt_classifier import qos_policy, resources, rosutil, schema
from trt_classifier.errors import ClassifierError
from trt_classifier.imgconv import compressed_msg_to_rgb, image_msg_to_rgb, ImageError
from trt_classifier.models import user as user_models
from trt_classifier.preprocess import describe_resize
from trt_classifier.schema import as_list, START_ONLY
from trt_classifier.serving import Classifier, DEGRADED, ERROR, LOADING
from trt_classifier.slot import LatestSlot

LATENCY_TOPICS = ('inference_ms', 'preprocess_ms', 'total_ms', 'age_ms', 'decode_ms')
# label, score and latency/* are published while a subscriber is matched; the node re-reads the
# publishers' match counts at most this often (seven calls, 3 us each in a loop and several
# times that in a running node, per frame), so a new subscriber misses at most this much after
# DDS matched it
MATCHED_RECHECK_S = 0.1


def descriptor(param):
    """Return the descriptor of a schema parameter: text, range, read-only if start-up only.

    rclpy then refuses an out-of-range value itself (scalars only, every distro), and
    ``ros2 param describe`` shows the range.
    """
    desc = rosutil.descriptor(schema.describe(param), read_only=param.applies == schema.START_UP)
    if param.value_range:
        low, high = param.value_range
        if isinstance(param.default, float):
            desc.floating_point_range = [FloatingPointRange(
                from_value=float(low), to_value=float(high), step=0.0)]
        else:
            desc.integer_range = [IntegerRange(from_value=low, to_value=high, step=1)]
    return desc


def result_record(msg, result, size, encoding, decode_ms, total_ms, age_ms, stamp_ns):
    """Return the JSON record of one frame for ``result`` (counts and node cost added later)."""
    backend = result.backend
    return {
        'frame_id': msg.header.frame_id, 'stamp_ns': stamp_ns,
        'width': int(size[1]), 'height': int(size[0]), 'encoding': encoding,
        'decode_ms': decode_ms, 'output_kind': result.settings.spec.output_kind,
        'label': result.label, 'index': result.index, 'score': result.score,
        'top_k': result.top_k(),
        'backend': backend.name, 'model': backend.model_name, 'device': backend.device,
        'precision': backend.precision, 'weights': backend.weights,
        'inference_ms': result.inference_ms, 'preprocess_ms': result.preprocess_ms,
        'total_ms': total_ms, 'age_ms': age_ms, 'pid': os.getpid()}


class ClassifierNode(Node):
    """The ROS adapter of :class:`serving.Classifier`: parameters, image subscription, topics."""

    def __init__(self, **kwargs):
        super(ClassifierNode, self).__init__('classifier', **kwargs)
        values = self._declare_parameters()
        # Code named by a dotted model runs when it is imported: allowed from the start-up
        # parameters (the robot's launch file) and the read-only allow-list, never from a
        # runtime change that anyone on the ROS graph can send.
        self.allowed_classes = set(filter(None, (
            n.strip() for n in values['allowed_model_classes'].split(','))))
        if user_models.is_dotted(values['model']):
            self.allowed_classes.add(values['model'])
        self.core = Classifier(values, self.get_logger())
        self.add_on_set_parameters_callback(self._on_set_parameters)

        lean = rosutil.lean_publisher_kwargs()  # no event handlers polled on every spin
        # the optional topics, published while listened to: name -> publisher
        self.optional = {'label': self.create_publisher(String, 'label', 10, **lean),
                         'score': self.create_publisher(Float64, 'score', 10, **lean)}
        for name in LATENCY_TOPICS:
            self.optional[name] = self.create_publisher(Float64, 'latency/' + name, 10, **lean)
        self.listened, self.listened_at = (), None  # see MATCHED_RECHECK_S
        self.pub_result = self.create_publisher(String, 'result', 10, **lean)
        self.pub_diag = self.create_publisher(DiagnosticArray, '/diagnostics', 10, **lean)
        self.wall_clock = False  # node clock == time.time() (no /clock): checked each second

        self.slot = LatestSlot()
        self.counts = {'received': 0, 'done': 0, 'rejected': 0, 'failed': 0}
        self.last_frame_time = None
        self.frame_geometry = None  # (height, width, input size, policy) last logged
        self.silence_reported = False
        self.silence_text = ''
        self.closing = False
        self.subscription = None
        self.sub_type = None
        self.sub_reliability = None
        self.qos_reason = ''
        self._update_subscription()

        self.worker = threading.Thread(target=self._work, name='inference', daemon=True)
        self.worker.start()
        self.create_timer(1.0, self._on_timer)

    # what rosutil.run and the tools read
    @property
    def config(self):
        """Return the requested settings (a serving.Config)."""
        return self.core.requested

    @property
    def backend(self):
        return self.core.backend

    @property
    def finished(self):
        return self.core.fatal

    @property
    def exit_code(self):
        return 2 if self.core.fatal else 0

    # --- parameters -----------------------------------------------------------------------
    def _declare_parameters(self):
        """Declare the schema's parameters; return their start-up values.

        rclpy refuses an out-of-range start-up value with an exception of its own; the node
        says it in its one line, naming the parameter and the range.
        """
        for param in schema.CLASSIFIER:
            try:
                self.declare_parameter(param.name, param.default, descriptor(param))
            except Exception:
                if not param.value_range:
                    raise
                # declared again without the range (a wrong type raises here again), to read it
                self.declare_parameter(param.name, param.default, rosutil.descriptor(
                    param.description))
                reason = schema.validate(param.name, self.get_parameter(param.name).value)
                if not reason:
                    raise
                raise ClassifierError('invalid parameter: ' + reason) from None
        return {param.name: self._value(param.name) for param in schema.CLASSIFIER}

    def _value(self, name, value=None):
        if value is None:
            value = self.get_parameter(name).value
        return as_list(value) if isinstance(schema.DEFAULTS[name], list) else value

    def _on_set_parameters(self, params):
        changes = {}
        for param in params:
            if param.name not in schema.BY_NAME:
                continue
            value = self._value(param.name, param.value)
            if param.name in START_ONLY and value != self.config[param.name]:
                # rclpy refuses read-only parameters before this callback; this is the backstop
                return self._refuse('%s can only be set at start-up: %s' % (
                    param.name, START_ONLY[param.name]))
            if (param.name == 'model' and user_models.is_dotted(value) and
                    value not in self.allowed_classes):
                return self._refuse(
                    'model %s names Python code: a Chainer class can be chosen only at start-up '
                    'or from allowed_model_classes, not by a runtime parameter change' % value)
            changes[param.name] = value
        before = self.config
        try:
            self.core.update(changes)
        except ClassifierError as exc:
            return self._refuse(str(exc))
        if any(self.config[n] != before[n] for n in schema.SUBSCRIPTION_PARAMS):
            self._update_subscription(force=True)
        return SetParametersResult(successful=True)

    def _refuse(self, reason):
        """Refuse a runtime parameter change with one log line; the node keeps its settings."""
        self.get_logger().warning('refused parameter change: %s' % reason)
        return SetParametersResult(successful=False, reason=reason)

    # --- subscription and QoS ---------------------------------------------------------------
    def _image_topic(self):
        if self.config['transport'] == 'compressed':  # image_transport's name for it
            return rosutil.resolve_topic(self, 'image').rstrip('/') + '/compressed'
        # the subscription knows its remapped name on every distro (resolve_topic_name: Galactic+)
        if self.subscription is not None and hasattr(self.subscription, 'topic_name') and \
                self.sub_type is Image:
            return self.subscription.topic_name
        return rosutil.resolve_topic(self, 'image')

    def _image_publishers(self):
        topic = self._image_topic()
        return [(info.node_name, rosutil.reliability_name(info.qos_profile))
                for info in self.get_publishers_info_by_topic(topic)]

    def _update_subscription(self, force=False, publishers=None):
        if publishers is None:
            publishers = self._image_publishers()
        reliability, reason = qos_policy.choose_reliability(
            self.config['image_qos'], [r for _n, r in publishers])
        if not force and (reliability == self.sub_reliability or (
                not publishers and self.subscription is not None)):
            return  # unchanged, or publishers left: keep what matched them
        if self.subscription is not None:
            self.destroy_subscription(self.subscription)
        qos = rosutil.make_qos(reliability, self.config['qos_depth'])
        compressed = self.config['transport'] == 'compressed'
        self.sub_type = CompressedImage if compressed else Image
        self.subscription = self.create_subscription(
            self.sub_type, self._image_topic() if compressed else 'image', self._on_image, qos)
        self.sub_reliability = reliability
        self.qos_reason = reason
        self.subscribed_at = time.monotonic()
        self.silence_reported = False
        self.get_logger().info('subscribing %s %s, depth %d: %s' % (
            self._image_topic(), reliability.replace('_', ' '),
            self.config['qos_depth'], reason))

    def _on_image(self, msg):
        received, cpu = time.perf_counter(), resources.thread_cpu_s()
        self.counts['received'] += 1
        self.last_frame_time = time.monotonic()
        self.slot.put((msg, received, resources.thread_cpu_s() - cpu))

    # --- worker -------------------------------------------------------------------------------
    def _work(self):
        core = self.core
        while not self.closing:
            if core.pending:
                core.reload()
            item = self.slot.get(timeout=0.2)
            if item is None:
                continue
            if core.pending:
                core.reload()
            try:
                self._process(*item)
            except Exception as exc:  # the worker must survive anything a frame causes
                if self.closing or not self.context.ok():
                    return  # stopping: the publishers may already be gone, that is no failure
                self.counts['failed'] += 1
                self.get_logger().error('frame failed: %s: %s' % (type(exc).__name__, exc),
                                        throttle_duration_sec=5.0)

    def _process(self, msg, received, callback_cpu):
        """Classify one frame and publish; ``callback_cpu``: CPU seconds of its callback."""
        cpu_start = resources.thread_cpu_s()
        if self.core.backend is None:
            self.counts['failed'] += 1
            return
        start = time.perf_counter()
        decode_ms = None
        try:
            if isinstance(msg, CompressedImage):  # decoding is timed on its own
                rgb = compressed_msg_to_rgb(msg)
                decode_ms = (time.perf_counter() - start) * 1000.0
                start = time.perf_counter()
                size, encoding = rgb.shape[:2], msg.format
            else:
                rgb = image_msg_to_rgb(msg)
                size, encoding = (msg.height, msg.width), msg.encoding
        except ImageError as exc:
            self.counts['rejected'] += 1
            self.get_logger().warning(str(exc), throttle_duration_sec=5.0)
            return
        self._log_geometry(rgb.shape[:2])
        result = self.core.classify(rgb, start)
        if result is None:  # released meanwhile (only while stopping)
            self.counts['failed'] += 1
            return
        stamp_ns = msg.header.stamp.sec * 10 ** 9 + msg.header.stamp.nanosec
        now_ns = int(time.time() * 1e9) if self.wall_clock else self.get_clock().now().nanoseconds
        age_ms = (now_ns - stamp_ns) / 1e6 if stamp_ns else float('nan')
        total_ms = (time.perf_counter() - received) * 1000.0
        listened = self._listened()
        if listened:  # a volatile publish without a matched reader reaches nobody anyway
            values = {'score': result.score, 'inference_ms': result.inference_ms,
                      'preprocess_ms': result.preprocess_ms, 'total_ms': total_ms,
                      'age_ms': age_ms, 'decode_ms': decode_ms}
            for name in listened:
                if name == 'label':
                    self.optional[name].publish(String(data=result.label))
                elif values[name] is not None:  # decode_ms: compressed frames only
                    self.optional[name].publish(Float64(data=float(values[name])))
        record = result_record(msg, result, size, encoding, decode_ms, total_ms,
                               age_ms if stamp_ns else None, stamp_ns)
        record['counts'] = self._counts_with_this_frame()
        # the node's own work on this frame, up to this last publish (rclpy's deserialisation
        # before the callback is not in it): wall time and CPU time of the two threads
        record['node_ms'] = (time.perf_counter() - received) * 1000.0
        record['node_cpu_ms'] = (resources.thread_cpu_s() - cpu_start + callback_cpu) * 1000.0
        self.pub_result.publish(String(data=json.dumps(record)))
        self.counts['done'] += 1

    def _log_geometry(self, shape):
        """Say once per frame size (and input size, policy) what preprocessing does to it."""
        settings = self.core.settings
        geometry = (int(shape[0]), int(shape[1]), settings.input_size, settings.resize)
        if geometry != self.frame_geometry:
            self.frame_geometry = geometry
            self.get_logger().info('frames %dx%d: %s' % (
                geometry[1], geometry[0], describe_resize(*geometry)))

    def _listened(self):
        """Names of the optional topics with a matched subscriber (MATCHED_RECHECK_S old)."""
        now = time.monotonic()
        if self.listened_at is None or now - self.listened_at >= MATCHED_RECHECK_S:
            self.listened = tuple(name for name, pub in self.optional.items()
                                  if pub.get_subscription_count())
            self.listened_at = now
        return self.listened

    def _counts_with_this_frame(self):
        """Cumulative frame counters, this frame counted as done.

        A client that sends nothing else between two of its frames subtracts the counts of the
        two results to get what happened to the frames in between (the open-loop benchmark).
        """
        return {'received': self.counts['received'], 'done': self.counts['done'] + 1,
                'dropped': self.slot.dropped, 'rejected': self.counts['rejected'],
                'failed': self.counts['failed']}

    # --- timer: diagnostics, QoS re-evaluation, silence diagnosis ---------------------------
    def _on_timer(self):
        self.wall_clock = not getattr(self.get_clock(), 'ros_time_is_active', True)
        publishers = self._image_publishers()  # one graph query a second serves both checks
        if self.config['image_qos'] == 'auto':
            self._update_subscription(publishers=publishers)
        self._check_silence(publishers)
        self._publish_diagnostics()

    def _check_silence(self, publishers):
        since = max(self.last_frame_time or 0.0, self.subscribed_at)
        silent_for = time.monotonic() - since
        if not publishers or silent_for < self.config['silence_timeout_s']:
            if self.last_frame_time and self.last_frame_time > self.subscribed_at:
                self.silence_reported = False
            return
        if not self.silence_reported:
            self.silence_reported = True
            self.silence_text = qos_policy.silence_report(
                self.sub_reliability, publishers, silent_for)
            self.get_logger().warning(self.silence_text)

    def _publish_diagnostics(self):
        core = self.core
        summary = core.window.summary()
        backend, served = core.backend, core.settings  # what frames actually get
        state, error = core.state, core.error
        values = [
            ('state', state), ('backend', served['backend']),
            ('model', served['model']), ('device', served['device']),
            ('precision', served['precision']), ('weights', served['weights']),
            ('preprocess_on', served.preprocess_on),
            ('image_qos', '%s (%s)' % (self.sub_reliability, self.qos_reason)),
            ('frames_received', self.counts['received']), ('frames_done', self.counts['done']),
            ('frames_dropped', self.slot.dropped), ('frames_rejected', self.counts['rejected']),
            ('frames_failed', self.counts['failed']),
            ('pid', os.getpid()), ('rss_mb', '%.1f' % resources.resident_mb()),
            ('peak_rss_mb', '%.1f' % resources.process_peak_mb()),
            ('inference_mean_ms', '%.3f' % summary['mean_ms']),
            ('inference_p99_ms', '%.3f' % summary['p99_ms']),
        ]
        if backend is not None:
            values.append(('loaded', json.dumps(backend.describe())))
        if core.reload_wanted():
            requested = core.requested
            values.append(('requested', '%s/%s on %s (%s weights)' % (
                requested['backend'], requested['model'], requested['device'],
                requested['weights'])))
        if error:
            values.append(('load_error', error))
        level, message = DiagnosticStatus.OK, 'ok'
        if not self.worker.is_alive() and not self.closing:
            level, message = DiagnosticStatus.ERROR, 'the inference thread has stopped'
        elif state == ERROR:
            level, message = DiagnosticStatus.ERROR, error
        elif state == DEGRADED and backend is not None:
            level, message = DiagnosticStatus.WARN, '%s; still serving %s/%s' % (
                error, backend.name, backend.model_name)
        elif state == LOADING:
            level, message = DiagnosticStatus.OK, 'loading model'
        elif self.silence_reported:
            level, message = DiagnosticStatus.WARN, self.silence_text
        elif self.counts['rejected'] or self.counts['failed']:
            level, message = DiagnosticStatus.WARN, 'some frames rejected or failed'
        status = DiagnosticStatus(
            level=level, name='%s: classifier' % rosutil.full_name(self),
            message=message, hardware_id=served['device'],
            values=[KeyValue(key=k, value=str(v)) for k, v in values])
        array_msg = DiagnosticArray(status=[status])
        array_msg.header.stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(array_msg)

    def stop_threads(self):
        """Let the worker finish its frame and stop (also the context's on_shutdown callback)."""
        self.closing = True
        self.core.stop()
        self.slot.close()
        if self.worker is not threading.current_thread():
            self.worker.join(timeout=5.0)

    def close(self):
        self.stop_threads()
        if self.worker.is_alive():  # still inside a load or an inference: don't pull the rug
            self.get_logger().warning('inference thread still busy; exiting without releasing '
                                      'the backend (the OS frees it)')
        else:
            self.core.close()


def main(args=None):
    return rosutil.run(ClassifierNode, args=args, logger_name='classifier')


if __name__ == '__main__':
    sys.exit(main())
