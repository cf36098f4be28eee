# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""image_source + classifier_node in one namespace.

ros2 launch trt_classifier classifier.launch.py backend:=onnxruntime model:=efficientnet_lite0
ros2 launch trt_classifier classifier.launch.py source:=none    # use your camera driver on image
ros2 launch trt_classifier classifier.launch.py backends:=chainer,onnxruntime   # side by side:
    one classifier per backend in /chainer, /onnxruntime, all on the same image topic
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch_ros.actions import Node

from trt_classifier.launch_support import end_launch_with, launch_default
from trt_classifier.procs import profile_env, side_by_side
from trt_classifier.schema import BY_NAME

# classifier_node parameters given here (defaults and texts from the schema); the YAML file sets
# the rest
CLASSIFIER_ARGS = ('backend', 'model', 'labels', 'weights', 'device', 'precision', 'transport')
ARGS = [
    ('namespace', '', 'namespace of both nodes (topics <ns>/image, <ns>/label, ...)'),
] + [(name, launch_default(BY_NAME[name].default), BY_NAME[name].description)
     for name in CLASSIFIER_ARGS] + [
    ('source', 'samples', 'samples | image | folder | video | camera:N | none'),
    ('rate_hz', '10.0', 'image_source rate'),
    ('backends', '', 'several backends side by side, e.g. chainer,onnxruntime: one classifier '
                     'each in <namespace>/<backend>, all on one image topic (overrides backend)'),
    ('image_topic', '', 'topic the classifiers subscribe to (default <namespace>/image)'),
]


def _nodes(context):
    # Values are read as Python strings here: handed to launch_ros as substitutions they would be
    # YAML-parsed (backend:=null would become None, rate_hz:=30 an integer).
    value = {name: context.launch_configurations[name] for name, _d, _t in ARGS}
    share = get_package_share_directory('trt_classifier')
    # Large best-effort frames need the DDS profile in every process (README); keep user settings.
    env = profile_env()
    nodes_ns, image = side_by_side(value['namespace'], value['backend'], value['backends'])
    image = value['image_topic'] or image
    nodes = []
    for ns, backend in nodes_ns:
        classifier = Node(
            package='trt_classifier', executable='classifier_node', name='classifier',
            namespace=ns, output='screen', additional_env=env, remappings=[('image', image)],
            parameters=[os.path.join(share, 'config', 'classifier.yaml'), dict({
                k: value[k] for k in CLASSIFIER_ARGS}, backend=backend)])
        # a classifier that cannot start (exit 2) ends the launch with exit 1
        nodes += [classifier, end_launch_with(classifier, 'the classifier could not run')]
    if value['source'] != 'none':
        nodes.append(Node(
            package='trt_classifier', executable='image_source', name='image_source',
            namespace=value['namespace'], output='screen', additional_env=env,
            remappings=[('image', image)],
            parameters=[{'source': value['source'], 'rate_hz': float(value['rate_hz']),
                         'transport': value['transport']}]))
    return nodes


def generate_launch_description():
    return LaunchDescription(
        [DeclareLaunchArgument(n, default_value=d, description=t) for n, d, t in ARGS] +
        [OpaqueFunction(function=_nodes)])
