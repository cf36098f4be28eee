# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""rosutil: publishers without the default QoS-event handlers that every spin polls."""

import rclpy
from rclpy.executors import SingleThreadedExecutor
from std_msgs.msg import String

from trt_classifier import rosutil


def test_lean_publishers_add_no_waitables_and_still_deliver():
    context = rclpy.context.Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node('lean_publisher_test', context=context)
        start = len(list(node.waitables))
        node.create_publisher(String, 'default_events', 10)
        with_defaults = len(list(node.waitables)) - start
        lean = rosutil.lean_publisher_kwargs()
        pub = node.create_publisher(String, 'lean_events', 10, **lean)
        assert len(list(node.waitables)) - start == with_defaults  # none added
        if lean:  # Galactic+: the defaults are handlers that the executor polls
            assert with_defaults >= 1
        got = []
        node.create_subscription(String, 'lean_events', lambda m: got.append(m.data), 10)
        executor = SingleThreadedExecutor(context=context)
        executor.add_node(node)
        for _ in range(100):  # discovery, then one message through
            if pub.get_subscription_count():
                pub.publish(String(data='x'))
            executor.spin_once(timeout_sec=0.05)
            if got:
                break
        assert got == ['x']
        executor.shutdown()
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)
