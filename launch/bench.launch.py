# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""The study's protocol: one classifier node per backend (/chainer, /tensorrt, ...) + the bench.

ros2 launch trt_classifier bench.launch.py
ros2 launch trt_classifier bench.launch.py backends:=chainer,tensorrt models:=resnet101 \
    precision:=fp16 device:=gpu
ros2 launch trt_classifier bench.launch.py sequential:=true   # one classifier node at a time
ros2 launch trt_classifier bench.launch.py rate:=30 duration:=10   # open loop, camera rate
ros2 launch trt_classifier bench.launch.py find_max_rate:=true     # highest sustained rate
Backends whose runtime is missing are reported as unavailable; the launch ends with the bench,
with exit code 1 when the bench failed (no backend measured) and at once on a bad argument.
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, RegisterEventHandler
from launch.event_handlers import OnProcessExit
from launch_ros.actions import Node

from trt_classifier.bench_runner import bench_node_params, check_request, choose_sequential, \
    classifier_params, split_available, split_list
from trt_classifier.launch_support import end_launch_with, launch_default
from trt_classifier.procs import profile_env
from trt_classifier.schema import BENCH_RUN


def _nodes(context):
    value = {arg.name: context.launch_configurations[arg.name] for arg in BENCH_RUN}
    backends = split_list(value['backends'])
    models = split_list(value['models'])
    # a bad value ends the launch here, with one line, before any node starts
    check_request(backends, models, value['precision'], value['device'], value['warmup'],
                  value['iterations'])
    available, unavailable = split_available(backends)
    sequential, _why = choose_sequential(value['sequential'])
    env = profile_env()
    actions = [Node(package='trt_classifier', executable='classifier_node', name='classifier',
                    namespace='/' + backend, output='screen', additional_env=env,
                    parameters=[classifier_params(
                        backend, value['device'], value['precision'], value['cache_dir'],
                        model=models[0], weights=value['weights'], models=models)])
               for backend in available]
    bench = Node(package='trt_classifier', executable='bench', name='bench', output='screen',
                 additional_env=env, parameters=[bench_node_params(
                     value, backends, models, unavailable, sequential)])
    if sequential:  # start each classifier when the bench has stopped the previous one
        chain = [RegisterEventHandler(OnProcessExit(target_action=previous, on_exit=[node]))
                 for previous, node in zip(actions, actions[1:])]
        actions = actions[:1] + chain
    # the launch ends with the bench, and fails (exit 1) when the bench did (exit 2 or 3)
    return actions + [bench, end_launch_with(bench, 'the benchmark failed')]


def generate_launch_description():
    return LaunchDescription(
        [DeclareLaunchArgument(arg.name, default_value=launch_default(arg.default),
                               description=arg.text) for arg in BENCH_RUN] +
        [OpaqueFunction(function=_nodes)])
