# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""classifier_node as a real process over real DDS: encodings, bad frames, parameters, signals."""

import array
import os
import signal
import subprocess
import sys
import time

import cv2
import numpy
import pytest
from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from sensor_msgs.msg import Image
from support import Probe, process_running

from trt_classifier.frames import read_rgb, samples_dir
from trt_classifier.imgconv import rgb_to_image_msg
from trt_classifier.procs import NodeProcess, ros_args

pytestmark = [pytest.mark.ros, pytest.mark.timeout(300)]


@pytest.fixture
def start_node(cache_dir):
    started = []

    def start(namespace, **params):
        params.setdefault('cache_dir', cache_dir)
        proc = NodeProcess('trt_classifier.classifier_node', ros_args(namespace, params))
        started.append(proc)
        return proc
    yield start
    for proc in started:
        proc.cleanup()


@pytest.fixture
def probe_factory():
    probes = []

    def make(namespace, reliability='reliable'):
        probe = Probe(namespace, reliability)
        probes.append(probe)
        return probe
    yield make
    for probe in probes:
        probe.close()


def photo(name='chelsea'):
    return read_rgb(os.path.join(samples_dir(), name + '.jpg'))


def raw_msg(encoding, height, width, step, data, bigendian=0):
    msg = Image()
    msg.header.frame_id = 'raw'
    msg.encoding, msg.height, msg.width, msg.step = encoding, height, width, step
    msg.is_bigendian = bigendian
    msg.data = array.array('B', bytes(data))
    return msg


def test_every_supported_encoding_gets_a_label(start_node, probe_factory):
    node = start_node('/enc', backend='chainer', model='squeezenet1_1', weights='random')
    probe = probe_factory('/enc')
    assert probe.wait_subscribed(60), node.output()
    assert probe.wait_latency_matched(60), node.output()  # all 5 frames on latency/* too
    rgb = photo()
    labels = {}
    for encoding in ('rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8'):
        result = probe.classify(rgb_to_image_msg(rgb, encoding, frame_id=encoding), timeout=120)
        assert result is not None, 'no result for %s\n%s' % (encoding, node.output())
        assert result['encoding'] == encoding
        assert result['inference_ms'] > 0 and result['preprocess_ms'] > 0
        assert len(result['top_k']) == 5
        labels[encoding] = result['index']
    # the same picture in any colour encoding is the same input: same class
    assert len({labels[e] for e in ('rgb8', 'bgr8', 'rgba8', 'bgra8')}) == 1, labels
    # what preprocessing does to the frames is said once per frame size
    height, width = rgb.shape[:2]
    assert node.output().count('frames %dx%d: center crop of ' % (width, height)) == 1, \
        node.output()
    probe.spin(0.5)
    for topic in ('label', 'score', 'latency/inference_ms', 'latency/preprocess_ms',
                  'latency/total_ms', 'latency/age_ms'):
        assert len(probe.topics[topic]) >= 5, topic
    assert all(v >= 0 for v in probe.topics['latency/total_ms'])


def test_malformed_frames_are_reported_and_the_next_frame_served(start_node, probe_factory):
    node = start_node('/bad', backend='null')
    probe = probe_factory('/bad')
    assert probe.wait_subscribed(30), node.output()
    # a warm-up frame first: the probe re-sends a frame whose result takes over 2 s (a fresh
    # node under load), and a copy arriving after that result would count in the delta below
    assert probe.classify(rgb_to_image_msg(photo(), 'rgb8', frame_id='warm-up')) is not None
    first = probe.classify(rgb_to_image_msg(photo(), 'rgb8'))
    assert first is not None
    bad = [
        raw_msg('32FC1', 4, 4, 16, b'\0' * 64),                 # unsupported encoding
        raw_msg('rgb8', 4, 4, 12, b'\0' * 10),                  # data shorter than step*height
        raw_msg('rgb8', 4, 4, 8, b'\0' * 32),                   # step < width*3
        raw_msg('rgb8', 0, 0, 0, b''),                          # empty
    ]
    for msg in bad:
        probe.image_pub.publish(msg)
        probe.spin(0.3)
    good = probe.classify(rgb_to_image_msg(photo(), 'bgr8', frame_id='after'))
    assert good is not None, node.output()
    # every result carries the node's cumulative counters (the open-loop bench subtracts them)
    delta = {k: good['counts'][k] - first['counts'][k] for k in first['counts']}
    assert delta == {'received': 5, 'done': 1, 'dropped': 0, 'rejected': 4, 'failed': 0}
    assert good['pid'] == node.pid
    assert probe.wait_for(lambda: probe.diagnostic_values().get('frames_rejected') == '4', 5), \
        probe.diagnostic_values()
    log = node.output()
    assert "encoding '32FC1' is not supported" in log


def test_independent_client_on_default_topics(start_node):
    """A plain rclpy client that knows only /image, /label and /latency/* (default parameters).

    Nothing from trt_classifier is used on the client side: the message is built by hand.
    """
    import rclpy
    from std_msgs.msg import Float64, String
    node = start_node('')
    bgr = cv2.imread(os.path.join(samples_dir(), 'chelsea.jpg'))
    image = Image(height=bgr.shape[0], width=bgr.shape[1], encoding='bgr8',
                  step=bgr.shape[1] * 3)
    image.data = array.array('B', bgr.tobytes())
    context = rclpy.context.Context()
    rclpy.init(context=context)
    client = rclpy.create_node('independent_client', context=context)
    executor = rclpy.executors.SingleThreadedExecutor(context=context)
    executor.add_node(client)
    labels, latencies = [], []
    client.create_subscription(String, '/label', lambda m: labels.append(m.data), 10)
    client.create_subscription(Float64, '/latency/inference_ms',
                               lambda m: latencies.append(m.data), 10)
    pub = client.create_publisher(Image, '/image', 10)
    try:
        deadline = time.monotonic() + 180
        while not (labels and latencies) and time.monotonic() < deadline:
            pub.publish(image)
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                executor.spin_once(timeout_sec=0.05)
    finally:
        client.destroy_node()
        executor.shutdown()
        rclpy.try_shutdown(context=context)
    assert labels and latencies, node.output()
    assert latencies[-1] > 0
    assert labels[-1] in ('tabby', 'tiger cat', 'Egyptian cat'), labels


def test_pretrained_default_model_on_real_photos(start_node, probe_factory):
    """EfficientNet-Lite0 with its ImageNet weights, through the node: cat and coffee."""
    node = start_node('/photos')
    probe = probe_factory('/photos')
    assert probe.wait_subscribed(60), node.output()
    cat = probe.classify(rgb_to_image_msg(photo('chelsea'), 'rgb8'), timeout=180)
    coffee = probe.classify(rgb_to_image_msg(photo('coffee'), 'rgb8'), timeout=60)
    assert cat is not None and coffee is not None, node.output()
    assert cat['model'] == 'efficientnet_lite0' and cat['weights'] == 'pretrained'
    assert 281 <= cat['index'] <= 285, cat['top_k']
    assert {i for i, _name, _p in coffee['top_k']} & {504, 967, 968, 969}, coffee['top_k']


@pytest.mark.parametrize('params,expected', [
    ({'backend': 'caffe'}, 'backend must be one of chainer, null, onnxruntime, tensorrt'),
    ({'model': 'alexnet'}, 'model must be one of'),
    ({'device': 'tpu'}, 'device must be cpu, gpu or gpu:N'),
    ({'mean': [0.5, 0.5]}, 'mean must have 3 values'),
    ({'weights': '/nonexistent/w.npz'}, 'weights file /nonexistent/w.npz does not exist'),
    ({'labels': '/nonexistent/labels.txt'}, 'cannot read labels file /nonexistent/labels.txt'),
    # refused by rclpy itself (the descriptor's range); the node's line names the range
    ({'top_k': 0}, 'invalid parameter: top_k must be in 1..1000, not 0'),
])
def test_invalid_parameters_at_start_exit_with_one_message(start_node, params, expected):
    params = dict({'backend': 'null'}, **params)
    node = start_node('/inv', **params)
    assert node.wait(60) == 2, node.output()
    out = node.output()
    assert expected in out, out
    assert 'Traceback' not in out, out


def _set_param(probe, fqn, name, value):
    client = probe.node.create_client(SetParameters, fqn + '/set_parameters')
    assert client.wait_for_service(timeout_sec=30)
    value_msg = ParameterValue(type=ParameterType.PARAMETER_STRING, string_value=value)
    future = client.call_async(SetParameters.Request(
        parameters=[Parameter(name=name, value=value_msg)]))
    assert probe.wait_for(future.done, 30)
    return future.result().results[0]


def test_runtime_parameters_rejected_or_reloaded(start_node, probe_factory):
    node = start_node('/rt', backend='null')
    probe = probe_factory('/rt')
    assert probe.wait_subscribed(30), node.output()
    bad = _set_param(probe, '/rt/classifier', 'backend', 'caffe')
    assert not bad.successful and 'backend must be one of' in bad.reason
    ok = _set_param(probe, '/rt/classifier', 'model', 'squeezenet1_1')
    assert ok.successful, ok.reason
    result = probe.classify(rgb_to_image_msg(photo(), 'rgb8'), timeout=60)
    assert result['model'] == 'squeezenet1_1' and result['backend'] == 'null'
    ok = _set_param(probe, '/rt/classifier', 'backend', 'chainer')
    assert ok.successful, ok.reason
    deadline = time.monotonic() + 120
    result = None
    while time.monotonic() < deadline:
        result = probe.classify(rgb_to_image_msg(photo(), 'rgb8'), timeout=60)
        if result and result['backend'] == 'chainer':
            break
    assert result['backend'] == 'chainer' and result['model'] == 'squeezenet1_1', node.output()


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM])
def test_signals_shut_down_cleanly(start_node, probe_factory, sig):
    node = start_node('/sig', backend='null')
    probe = probe_factory('/sig')
    assert probe.wait_subscribed(30), node.output()
    assert probe.classify(rgb_to_image_msg(photo(), 'rgb8')) is not None
    code, seconds = node.stop(sig, timeout=10)
    assert code == 0, node.output()
    assert seconds < 2.0


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM])
def test_stopping_while_frames_arrive_logs_no_error(start_node, probe_factory, sig):
    """The worker stops before the context is shut down: no publish on an invalid context."""
    node = start_node('/busy', backend='chainer', model='squeezenet1_1', weights='random')
    probe = probe_factory('/busy')
    assert probe.wait_subscribed(60), node.output()
    msg = rgb_to_image_msg(photo(), 'rgb8')
    assert probe.classify(msg, timeout=120) is not None, node.output()
    end = time.monotonic() + 1.0
    while time.monotonic() < end:  # keep the worker busy up to the signal
        probe.image_pub.publish(msg)
        probe.spin(0.01)
    code, seconds = node.stop(sig, timeout=10)
    out = node.output()
    assert code == 0 and seconds < 2.0, out
    assert '[ERROR]' not in out and 'context is invalid' not in out, out
    assert 'Failed to publish log message to rosout' not in out, out


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='PR_SET_PDEATHSIG is Linux')
def test_a_node_stops_when_its_parent_dies():
    """ros2 launch stopped by SIGTERM (or killed) leaves its children: they follow it instead."""
    code = ('import time\n'
            'from trt_classifier.procs import NodeProcess, ros_args\n'
            'node = NodeProcess("trt_classifier.classifier_node", '
            'ros_args("/orphan", {"backend": "null"}))\n'
            'print(node.pid, node.log.name, flush=True)\n'
            'time.sleep(300)\n')
    parent = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE,
                              start_new_session=True)
    pid, log = parent.stdout.readline().decode().split()
    pid = int(pid)

    def output():
        with open(log) as f:
            return f.read()
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end and 'ready' not in output():
            time.sleep(0.2)
        assert 'ready' in output(), output()
        parent.kill()  # the child runs in its own session: no signal reaches it but this one
        parent.wait()
        end = time.monotonic() + 10
        while time.monotonic() < end and process_running(pid):
            time.sleep(0.1)
        assert not process_running(pid), 'the node outlived its parent\n' + output()
        assert '[ERROR]' not in output()
    finally:
        if process_running(pid):
            os.kill(pid, signal.SIGKILL)
        if parent.poll() is None:
            parent.kill()
        parent.stdout.close()
        os.unlink(log)


def test_large_frame_round_trip_null(start_node, probe_factory):
    node = start_node('/big', backend='null')
    probe = probe_factory('/big')
    assert probe.wait_subscribed(30), node.output()
    rgb = numpy.random.RandomState(0).randint(0, 255, (3000, 4000, 3)).astype(numpy.uint8)
    result = probe.classify(rgb_to_image_msg(rgb, 'rgb8'), timeout=60)
    assert result is not None and result['width'] == 4000, node.output()


def test_unwritable_cache_dir_still_classifies(start_node, probe_factory, tmp_path):
    blocker = tmp_path / 'a-file'
    blocker.write_text('not a directory')
    node = start_node('/ro', backend='onnxruntime', model='squeezenet1_1', weights='random',
                      cache_dir=str(blocker / 'cache'))
    probe = probe_factory('/ro')
    assert probe.wait_subscribed(30), node.output()
    assert probe.classify(rgb_to_image_msg(photo(), 'rgb8'), timeout=120) is not None, \
        node.output()
    assert 'is not writable' in node.output()


def test_corrupted_weights_file_is_reported(start_node, tmp_path):
    bad = tmp_path / 'squeezenet.npz'
    bad.write_bytes(b'PK\x03\x04 truncated zip')
    node = start_node('/w', backend='chainer', model='squeezenet1_1', weights=str(bad))
    assert node.wait(120) == 2, node.output()
    out = node.output()
    assert 'cannot load weights %s into model squeezenet1_1' % bad in out, out
    assert 'Traceback' not in out


def test_failed_reload_keeps_serving_and_says_so(start_node, probe_factory, tmp_path):
    bad = tmp_path / 'other-model.npz'  # a clean npz (passes the parameter check), wrong arrays
    numpy.savez(str(bad), **{'conv1/W': numpy.zeros((2, 2), numpy.float32)})
    node = start_node('/deg', backend='chainer', model='squeezenet1_1', weights='random')
    probe = probe_factory('/deg')
    assert probe.wait_subscribed(60), node.output()
    assert probe.classify(rgb_to_image_msg(photo(), 'rgb8'), timeout=120) is not None
    assert _set_param(probe, '/deg/classifier', 'weights', str(bad)).successful
    assert probe.wait_for(
        lambda: probe.diagnostic_values().get('load_error', '').startswith(
            'requested chainer/squeezenet1_1'), 60), node.output()
    diag = probe.diagnostic_values()
    assert diag['_level'] == b'\x01' and 'still serving chainer/squeezenet1_1' in diag['_message']
    result = probe.classify(rgb_to_image_msg(photo(), 'rgb8'), timeout=60)
    assert result is not None and result['weights'] == 'random'


def test_release_first_reload(start_node, probe_factory):
    node = start_node('/rf', backend='null', reload_policy='release_first')
    probe = probe_factory('/rf')
    assert probe.wait_subscribed(30), node.output()
    assert probe.classify(rgb_to_image_msg(photo(), 'rgb8')) is not None
    assert _set_param(probe, '/rf/classifier', 'backend', 'onnxruntime').successful
    deadline = time.monotonic() + 120
    result = None
    while time.monotonic() < deadline and (result is None or result['backend'] != 'onnxruntime'):
        result = probe.classify(rgb_to_image_msg(photo(), 'rgb8'), timeout=60)
    assert result['backend'] == 'onnxruntime', node.output()
    assert 'Traceback' not in node.output()


def test_descriptors_carry_the_schema_ranges_and_rclpy_enforces_them(
        cache_dir, classifier_in_process):
    """``ros2 param describe`` shows the ranges; an out-of-range runtime value never arrives."""
    from rclpy.parameter import Parameter as RclpyParameter
    node = classifier_in_process(backend='null', cache_dir=cache_dir)
    top_k = node.describe_parameter('top_k')
    assert [(r.from_value, r.to_value) for r in top_k.integer_range] == [(1, 1000)]
    assert '(1..1000)' in top_k.description and not top_k.read_only
    assert node.describe_parameter('allowed_model_classes').read_only
    assert not node.describe_parameter('mean').integer_range  # arrays: no range
    result = node.set_parameters([RclpyParameter('top_k', value=1001)])[0]
    assert not result.successful and 'top_k' in result.reason, result.reason
    assert node.config['top_k'] == 5
    assert node.set_parameters([RclpyParameter('top_k', value=1000)])[0].successful
    assert node.core.settings.top_k == 1000
