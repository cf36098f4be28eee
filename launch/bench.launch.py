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

from trt_classifier.bench_node import split_list, STUDY_MODELS
from trt_classifier.bench_runner import check_request, choose_sequential, classifier_params, \
    split_available
from trt_classifier.launch_support import end_launch_with
from trt_classifier.procs import profile_env

ARGS = [
    ('backends', 'chainer,onnxruntime,tensorrt,null', 'comma-separated backends (null: the '
                                                      'harness overhead)'),
    ('models', STUDY_MODELS, 'comma-separated models'),
    ('warmup', '1', 'untimed frames per model and backend'),
    ('iterations', '100', 'timed frames per model and backend'),
    ('precision', 'fp32', 'fp32 | fp16 (tensorrt)'),
    ('device', 'cpu', 'cpu | gpu | gpu:N'),
    ('weights', 'auto', 'auto | random | pretrained'),
    ('output_dir', 'results', 'where bench.json/csv/png are written'),
    ('sequential', 'auto', 'auto | true | false: one classifier node alive at a time (auto: '
                           'under 8 GB of memory)'),
    # open loop (camera rate), as trt-classifier bench --rate HZ ...
    ('rate', '0', 'publish at this fixed rate in Hz, open loop (0: closed loop)'),
    ('duration', '10', 'open loop: seconds per model and backend (0: iterations frames)'),
    ('find_max_rate', 'false', 'search the highest rate each backend sustains'),
    ('drop_threshold', '0.02', 'rate search: largest share of frames left unanswered'),
    ('min_rate', '1', 'rate search: lower bound in Hz'),
    ('max_rate', '200', 'rate search: upper bound in Hz, probed first'),
    ('search_duration', '3', 'rate search: seconds per probe'),
]
OPEN_LOOP = [('rate', 'rate_hz'), ('duration', 'duration_s'), ('drop_threshold', 'drop_threshold'),
             ('min_rate', 'min_rate_hz'), ('max_rate', 'max_rate_hz'),
             ('search_duration', 'search_duration_s')]


def _nodes(context):
    value = {name: context.launch_configurations[name] for name, _d, _t in ARGS}
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
                        backend, value['device'], value['precision'],
                        model=models[0], weights=value['weights'], models=models)])
               for backend in available]
    bench = Node(package='trt_classifier', executable='bench', name='bench', output='screen',
                 additional_env=env, parameters=[{
                     'backends': ','.join(backends), 'models': ','.join(models),
                     'warmup': int(value['warmup']), 'iterations': int(value['iterations']),
                     'precision': value['precision'], 'weights': value['weights'],
                     'output_dir': value['output_dir'], 'unavailable': unavailable,
                     'sequential': sequential,
                     'find_max_rate': value['find_max_rate'].lower() in ('true', '1'),
                     **{param: float(value[arg]) for arg, param in OPEN_LOOP}}])
    if sequential:  # start each classifier when the bench has stopped the previous one
        chain = [RegisterEventHandler(OnProcessExit(target_action=previous, on_exit=[node]))
                 for previous, node in zip(actions, actions[1:])]
        actions = actions[:1] + chain
    # the launch ends with the bench, and fails (exit 1) when the bench did (exit 2 or 3)
    return actions + [bench, end_launch_with(bench, 'the benchmark failed')]


def generate_launch_description():
    return LaunchDescription(
        [DeclareLaunchArgument(n, default_value=d, description=t) for n, d, t in ARGS] +
        [OpaqueFunction(function=_nodes)])
