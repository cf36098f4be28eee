# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""image_source + classifier_node in one namespace.

ros2 launch trt_classifier classifier.launch.py backend:=onnxruntime model:=efficientnet_lite0
ros2 launch trt_classifier classifier.launch.py source:=none    # use your camera driver on image
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PythonExpression
from launch_ros.actions import Node

from trt_classifier.procs import large_frame_env


def generate_launch_description():
    share = get_package_share_directory('trt_classifier')
    args = [
        ('namespace', '', 'namespace of both nodes (topics <ns>/image, <ns>/label, ...)'),
        ('backend', 'chainer', 'chainer | onnxruntime | tensorrt | null'),
        ('model', 'efficientnet_lite0', 'efficientnet_lite0 | squeezenet1_1 | resnet101 | vgg16'),
        ('weights', 'auto', 'auto | pretrained | random | /path/to/weights.npz'),
        ('device', 'cpu', 'cpu | gpu | gpu:N'),
        ('precision', 'fp32', 'fp32 | fp16 (tensorrt)'),
        ('source', 'samples', 'samples | image | folder | video | camera:N | none'),
        ('rate_hz', '10.0', 'image_source rate'),
    ]
    config = LaunchConfiguration
    # Large best-effort frames need the DDS profile in every process (README); keep user settings.
    extra_env = {k: v for k, v in large_frame_env().items()
                 if k in ('FASTDDS_DEFAULT_PROFILES_FILE', 'CYCLONEDDS_URI')}
    classifier = Node(
        package='trt_classifier', executable='classifier_node', name='classifier',
        namespace=config('namespace'), output='screen', additional_env=extra_env,
        parameters=[os.path.join(share, 'config', 'classifier.yaml'), {
            'backend': config('backend'), 'model': config('model'),
            'weights': config('weights'), 'device': config('device'),
            'precision': config('precision')}])
    source = Node(
        package='trt_classifier', executable='image_source', name='image_source',
        namespace=config('namespace'), output='screen', additional_env=extra_env,
        parameters=[{'source': config('source'), 'rate_hz': config('rate_hz')}],
        condition=IfCondition(PythonExpression(["'", config('source'), "' != 'none'"])))
    return LaunchDescription(
        [DeclareLaunchArgument(n, default_value=d, description=t) for n, d, t in args] +
        [classifier, source])
