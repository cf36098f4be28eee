# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Test support: a ROS 2 probe (publish images, collect results), a recording log, a pid check.

Not part of the installed package. Tests import it as ``support`` (pytest puts test/ on
sys.path); the launch test (test/test_launch.py) and tools/reliability_bench.py put test/ on
PYTHONPATH.
"""

import itertools
import json
import time

from diagnostic_msgs.msg import DiagnosticArray
import rclpy
from std_msgs.msg import Float64, String

from trt_classifier import rosutil
from trt_classifier.imgconv import rgb_to_image_msg


_FRAME_IDS = itertools.count()


def process_running(pid):
    """Tell whether ``pid`` runs (Linux: not gone, not a zombie waiting for its new parent)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] not in ('Z', 'X')
    except OSError:
        return False


class RecordingLog(object):
    """A logger stand-in that keeps every message as ``(level, text)``."""

    def __init__(self):
        self.messages = []

    def _record(self, level, msg, *args):
        self.messages.append((level, msg % args if args else msg))

    def debug(self, msg, *args):
        self._record('debug', msg, *args)

    def info(self, msg, *args):
        self._record('info', msg, *args)

    def warning(self, msg, *args):
        self._record('warning', msg, *args)

    def error(self, msg, *args):
        self._record('error', msg, *args)

    @property
    def infos(self):
        return [m for level, m in self.messages if level in ('debug', 'info')]

    @property
    def warnings(self):
        return [m for level, m in self.messages if level in ('warning', 'error')]

    def text(self, level=None):
        return '\n'.join(m for lv, m in self.messages if level is None or lv == level)


class Probe(object):
    """An independent client node in its own rclpy context."""

    def __init__(self, namespace='', image_reliability='reliable'):
        from sensor_msgs.msg import CompressedImage, Image
        self.context = rclpy.context.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node('probe', namespace=namespace, context=self.context)
        self.executor = rclpy.executors.SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.image_pub = self.node.create_publisher(
            Image, 'image', rosutil.make_qos(image_reliability, 1))
        self.compressed_pub = self.node.create_publisher(
            CompressedImage, 'image/compressed', rosutil.make_qos(image_reliability, 1))
        self.topics = {}
        for topic, kind in (('label', String), ('score', Float64), ('result', String),
                            ('latency/inference_ms', Float64), ('latency/preprocess_ms', Float64),
                            ('latency/total_ms', Float64), ('latency/age_ms', Float64),
                            ('latency/decode_ms', Float64)):
            self.topics[topic] = []
            self.node.create_subscription(kind, topic, self._store(topic), 10)
        self._parsed = []
        self.diagnostics = []
        self.node.create_subscription(DiagnosticArray, '/diagnostics', self.diagnostics.append,
                                      10)

    def _store(self, topic):
        return lambda msg: self.topics[topic].append(msg.data)

    def spin(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.executor.spin_once(timeout_sec=0.05)

    def wait_for(self, condition, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if condition():
                return True
            self.executor.spin_once(timeout_sec=0.05)
        return condition()

    def wait_subscribed(self, timeout=30.0):
        return self.wait_for(lambda: self.image_pub.get_subscription_count() > 0, timeout)

    def wait_latency_matched(self, timeout=30.0):
        """Wait until every latency/* subscription of the probe matched the node's publisher."""
        ns = self.node.get_namespace().rstrip('/')
        matched = self.wait_for(lambda: all(
            self.node.count_publishers('%s/%s' % (ns, topic)) > 0
            for topic in self.topics if topic.startswith('latency/')), timeout)
        self.spin(0.2)  # the node's side of the match
        return matched

    def results(self):
        """Return the parsed ``result`` messages (each is parsed once)."""
        raw = self.topics['result']
        if len(raw) < len(self._parsed):  # the caller cleared the list
            self._parsed = []
        self._parsed.extend(json.loads(r) for r in raw[len(self._parsed):])
        return self._parsed

    def publish_rgb(self, rgb, encoding='rgb8', frame_id='probe'):
        self.image_pub.publish(rgb_to_image_msg(
            rgb, encoding, self.node.get_clock().now().to_msg(), frame_id))

    def classify(self, msg, timeout=60.0, retry_s=2.0):
        """Publish ``msg`` (frame_id made unique) until its result arrives; return the result.

        A ``CompressedImage`` goes to ``image/compressed``, an ``Image`` to ``image``.
        """
        frame_id = '%s-%d' % (msg.header.frame_id or 'probe', next(_FRAME_IDS))
        msg.header.frame_id = frame_id
        pub = self.compressed_pub if hasattr(msg, 'format') else self.image_pub
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            msg.header.stamp = self.node.get_clock().now().to_msg()
            pub.publish(msg)
            found = self._wait_result(frame_id, min(retry_s, end - time.monotonic()))
            if found is not None:
                return found
        return None

    def _wait_result(self, frame_id, timeout):
        holder = []

        def match():
            for r in reversed(self.results()):
                if r['frame_id'] == frame_id:
                    holder.append(r)
                    return True
            return False
        self.wait_for(match, timeout)
        return holder[0] if holder else None

    def diagnostic_values(self):
        """Return the newest classifier status as {key: value}, or {}."""
        for array in reversed(self.diagnostics):
            for status in array.status:
                if status.name.endswith(': classifier'):
                    values = {kv.key: kv.value for kv in status.values}
                    values['_level'] = status.level
                    values['_message'] = status.message
                    return values
        return {}

    def close(self):
        self.node.destroy_node()
        self.executor.shutdown()
        rclpy.try_shutdown(context=self.context)
