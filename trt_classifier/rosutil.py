# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""rclpy glue for Foxy..Kilted, written once (docs/ROS2_COMPAT.md): QoS, descriptors, main."""

import signal
import threading

from rcl_interfaces.msg import ParameterDescriptor
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

from trt_classifier.errors import ClassifierError


def make_qos(reliability, depth=1):
    policy = (ReliabilityPolicy.RELIABLE if reliability == 'reliable'
              else ReliabilityPolicy.BEST_EFFORT)
    return QoSProfile(depth=int(depth), history=HistoryPolicy.KEEP_LAST, reliability=policy)


def reliability_name(qos):
    return 'reliable' if qos.reliability == ReliabilityPolicy.RELIABLE else 'best_effort'


def descriptor(description, read_only=False):
    """Return a fresh ParameterDescriptor (never a shared default object: a Foxy pitfall)."""
    return ParameterDescriptor(description=description, read_only=read_only)


def full_name(node):
    """``/namespace/name`` (``get_fully_qualified_name`` is newer than Foxy)."""
    if hasattr(node, 'get_fully_qualified_name'):
        return node.get_fully_qualified_name()
    return '%s/%s' % (node.get_namespace().rstrip('/'), node.get_name())


def resolve_topic(node, topic):
    if hasattr(node, 'resolve_topic_name'):
        return node.resolve_topic_name(topic)
    if topic.startswith('/'):
        return topic
    namespace = node.get_namespace().rstrip('/')
    return '%s/%s' % (namespace, topic)


def run(make_node, args=None, logger_name='trt_classifier'):
    """Create the node, spin until SIGINT/SIGTERM/shutdown, clean up; return the exit code.

    A Python SIGTERM handler is registered before ``rclpy.init`` (Humble+ chain it) and the loop
    uses ``spin_once`` with a timeout so that Foxy/Galactic, which don't wake the executor on
    SIGTERM, still stop within 0.2 s. Never ``rclpy.shutdown()`` in ``finally``: Humble+ have
    already shut the context down on a signal; ``try_shutdown`` is safe everywhere.
    """
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    rclpy.init(args=args)
    node = None
    code = 0
    try:
        node = make_node()
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        while rclpy.ok() and not stop.is_set() and not getattr(node, 'finished', False):
            executor.spin_once(timeout_sec=0.2)
        code = getattr(node, 'exit_code', 0)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except ClassifierError as exc:
        rclpy.logging.get_logger(logger_name).error(str(exc))
        code = 2
    except Exception as exc:  # a wrongly typed -p override (Galactic+): one line, not a trace
        if not type(exc).__module__.startswith('rclpy'):
            raise
        rclpy.logging.get_logger(logger_name).error('invalid parameter: %s (write doubles with '
                                                    'a decimal point, e.g. 5.0)' % exc)
        code = 2
    finally:
        if node is not None:
            if hasattr(node, 'close'):
                node.close()  # may finish work (the bench writes its report) and set exit_code
            if code != 2:
                code = getattr(node, 'exit_code', code)
            node.destroy_node()
        rclpy.try_shutdown()
    return code
