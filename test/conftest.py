# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Test isolation: each pytest run gets its own ROS domain and loopback-only discovery."""

import os
import random

import pytest

# A domain id of our own (Fast DDS accepts 0-232): a demo or another CI run on this machine
# cannot cross-talk with the tests. Set before any rclpy import in this process and inherited
# by every node process the tests start.
os.environ['ROS_DOMAIN_ID'] = os.environ.get(
    'TRT_CLASSIFIER_TEST_DOMAIN', str(random.Random(os.getpid()).randint(100, 232)))
os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.setdefault('ROS_PYTHON_CHECK_FIELDS', '1')  # Foxy-Humble message type checks


@pytest.fixture(scope='session')
def cache_dir(tmp_path_factory):
    """Share one weights/ONNX cache so models convert and export once per run."""
    path = str(tmp_path_factory.mktemp('cache'))
    os.chmod(path, 0o700)  # the package refuses a cache others can write to (umask 002)
    return path


@pytest.fixture
def classifier_in_process():
    """Start a ClassifierNode in this process, in a context of its own: ``start(**params)``."""
    import rclpy
    from trt_classifier.classifier_node import ClassifierNode
    started = []

    def start(**params):
        context = rclpy.context.Context()
        args = ['--ros-args']
        for name, value in params.items():
            args += ['-p', '%s:=%s' % (name, value)]
        rclpy.init(context=context, args=args)
        node = ClassifierNode(context=context)
        started.append((node, context))
        return node
    yield start
    for node, context in started:
        node.close()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
