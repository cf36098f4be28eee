# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""rclpy glue for Foxy..Kilted, written once (docs/ROS2_COMPAT.md): QoS, descriptors, main."""

import signal
import sys
import threading

from rcl_interfaces.msg import ParameterDescriptor
import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

from trt_classifier.errors import ClassifierError

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def make_qos(reliability, depth=1):
    policy = (ReliabilityPolicy.RELIABLE if reliability == 'reliable'
              else ReliabilityPolicy.BEST_EFFORT)
    return QoSProfile(depth=int(depth), history=HistoryPolicy.KEEP_LAST, reliability=policy)


def lean_publisher_kwargs():
    """``create_publisher`` keyword arguments without rclpy's default QoS-event handlers.

    From Galactic on, rclpy gives every publisher handlers that log an incompatible QoS (and,
    Iron on, type) of a subscriber: two waitables that the executor polls in Python on every
    spin, a frame's included. For the classifier's nine output publishers that was 0.14 ms of
    the main thread per frame here (``spin_once`` 0.41 -> 0.25 ms). The subscriber's own default
    handler still logs the incompatibility on its side. Where ``use_default_callbacks`` does not
    exist (Foxy), nothing changes.
    """
    try:
        from rclpy.event_handler import PublisherEventCallbacks
    except ImportError:
        from rclpy.qos_event import PublisherEventCallbacks
    try:
        return {'event_callbacks': PublisherEventCallbacks(use_default_callbacks=False)}
    except TypeError:
        return {}


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


def follow_parent(sig=signal.SIGTERM):
    """Ask Linux to send ``sig`` to this process when its parent dies; return whether it could.

    ``ros2 launch`` stopped by SIGTERM (or killed) exits without stopping its children
    (launch_service.py: "can result in orphaned processes"); with this they stop with it, cleanly.
    The signal comes when the parent *thread* that started us ends: launch and the tests start
    nodes from their main thread.
    """
    if not sys.platform.startswith('linux'):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):  # no libc or no prctl: keep the documented limitation
        return False


def init_keeping_context(args=None):
    """``rclpy.init`` without rclpy's signal handlers (Humble+): SIGINT/SIGTERM are ours.

    From Humble on, rclpy's handlers shut the context down the moment a signal arrives, while
    the node's threads may still publish or log ("publisher's context is invalid", "Failed to
    publish log message to rosout"). Here a signal only sets a flag; ``run`` then stops the
    node's work first and shuts the context down last. Foxy/Galactic have no such option; their
    SIGINT handler calls ours and leaves the context alone.
    """
    try:
        from rclpy.signals import SignalHandlerOptions
    except ImportError:  # Foxy, Galactic
        rclpy.init(args=args)
        return
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)


def run(make_node, args=None, logger_name='trt_classifier'):
    """Create the node, spin until SIGINT/SIGTERM/shutdown, clean up; return the exit code.

    SIGINT and SIGTERM set a flag (Python handlers, registered before ``rclpy.init``), and the
    loop uses ``spin_once`` with a timeout, so every distro stops within 0.2 s. Then the node's
    ``close()`` stops its threads while the context is still valid (a node whose context is shut
    down by someone else also stops them, from the context's on_shutdown callback), and the
    context is shut down last with ``try_shutdown``, which is safe everywhere.
    """
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    follow_parent(signal.SIGTERM)
    init_keeping_context(args)
    node = None
    code = 0
    try:
        node = make_node()
        if hasattr(node, 'stop_threads'):
            node.context.on_shutdown(node.stop_threads)
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
