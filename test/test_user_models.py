# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Your own model: ONNX files the package did not write, a Chainer class, compressed frames.

The ONNX files are built here with ``onnx.helper`` the way other exporters write them (NHWC
input, dynamic batch, Softmax inside, (1, N, 1, 1) output, weights listed as inputs, opset 9,
names with slashes). They all compute the same 4-class colour classifier: global average
pooling, then ``COLOUR_WEIGHTS``, so a red frame is class 0 ('red'), green 1, blue 2.
"""

import json
import os
import subprocess
import sys

import cv2
import numpy
import onnx
from onnx import helper, TensorProto
import pytest
from support import Probe

from trt_classifier import models
from trt_classifier.errors import ClassifierError
from trt_classifier.imgconv import (compressed_msg_to_rgb, ImageError, rgb_to_compressed_msg,
                                    rgb_to_image_msg)
from trt_classifier.preprocess import softmax
from trt_classifier.procs import NodeProcess, ros_args

HERE = os.path.dirname(os.path.abspath(__file__))
LABELS = ['red', 'green', 'blue', 'dark']
COLOUR_WEIGHTS = numpy.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [-1, -1, -1]], numpy.float32)
CARD = 'input_size: 32\nresize: stretch\nmean: [0, 0, 0]\nstd: [1, 1, 1]\nlabels: labels.txt\n'


def make_onnx(path, layout='NCHW', batch=1, softmax_inside=False, out4d=False,
              weights_as_inputs=False, opset=11, in_name='input', out_name='logits', size=32,
              extra_input=None, card=CARD, fp16_input=False, dynamic_hw=False):
    """Write a colour classifier ONNX file (and its card and labels) the way exporters do."""
    nodes, inits = [], []
    size = 'H' if dynamic_hw else size
    shape = [batch, 3, size, size] if layout == 'NCHW' else [batch, size, size, 3]
    x = in_name
    if fp16_input:  # a half-precision export: the graph casts its input
        nodes.append(helper.make_node('Cast', [x], ['as_float'], to=TensorProto.FLOAT))
        x = 'as_float'
    if layout == 'NHWC':  # tf2onnx style: a Transpose right after the input
        nodes.append(helper.make_node('Transpose', [x], ['nchw'], perm=[0, 3, 1, 2]))
        x = 'nchw'
    nodes.append(helper.make_node('GlobalAveragePool', [x], ['pooled']))
    if out4d:  # a fully convolutional head: (1, 4, 1, 1)
        inits.append(helper.make_tensor('head/W', TensorProto.FLOAT, [4, 3, 1, 1],
                                        COLOUR_WEIGHTS.ravel().tolist()))
        nodes.append(helper.make_node('Conv', ['pooled', 'head/W'], ['scores']))
    else:
        nodes.append(helper.make_node('Flatten', ['pooled'], ['flat'], axis=1))
        inits.append(helper.make_tensor('dense/kernel:0', TensorProto.FLOAT, [4, 3],
                                        COLOUR_WEIGHTS.ravel().tolist()))
        inits.append(helper.make_tensor('dense/bias:0', TensorProto.FLOAT, [4], [0.0] * 4))
        nodes.append(helper.make_node('Gemm', ['flat', 'dense/kernel:0', 'dense/bias:0'],
                                      ['scores'], transB=1))
    last = 'scores'
    if softmax_inside:
        nodes.append(helper.make_node('Softmax', [last], ['probs'], axis=1))
        last = 'probs'
    nodes.append(helper.make_node('Identity', [last], [out_name]))
    out_shape = [batch, 4, 1, 1] if out4d else [batch, 4]
    inputs = [helper.make_tensor_value_info(
        in_name, TensorProto.FLOAT16 if fp16_input else TensorProto.FLOAT, shape)]
    if extra_input:
        inputs.append(helper.make_tensor_value_info(extra_input[0], TensorProto.FLOAT,
                                                    extra_input[1]))
    if weights_as_inputs:  # onnx_chainer and old PyTorch list every weight as an input too
        inputs += [helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                   for t in inits]
    graph = helper.make_graph(nodes, 'foreign', inputs,
                              [helper.make_tensor_value_info(out_name, TensorProto.FLOAT,
                                                             out_shape)], initializer=inits)
    model = helper.make_model(graph, producer_name='test-exporter',
                              opset_imports=[helper.make_opsetid('', opset)])
    model.ir_version = 4 if opset <= 9 else 6
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    directory = os.path.dirname(str(path))
    with open(os.path.join(directory, 'labels.txt'), 'w') as f:
        f.write('\n'.join(LABELS) + '\n')
    if card is not None:
        with open(os.path.splitext(str(path))[0] + '.yaml', 'w') as f:
            f.write(card)
    return str(path)


# Every foreign trait, alone and together.
VARIANTS = {
    'nhwc': {'layout': 'NHWC'},
    'dynamic_batch': {'batch': 'N'},
    'softmax': {'softmax_inside': True},
    'out4d': {'out4d': True},
    'weights_as_inputs': {'weights_as_inputs': True},
    'opset9': {'opset': 9},
    'fp16_input': {'fp16_input': True},
    'dynamic_hw': {'dynamic_hw': True},
    'tf_style': {'layout': 'NHWC', 'batch': -1, 'softmax_inside': True, 'opset': 9,
                 'weights_as_inputs': True, 'in_name': 'serving_default/input_1:0',
                 'out_name': 'StatefulPartitionedCall/model/dense/Softmax:0'},
}


def colour(rgb, size=48):
    return numpy.full((size, size + 16, 3), rgb, numpy.uint8)


RED, GREEN, BLUE = colour((255, 0, 0)), colour((0, 255, 0)), colour((0, 0, 255))


def expected_probabilities(rgb_frame):
    means = rgb_frame.reshape(-1, 3).mean(axis=0) / 255.0
    return softmax(COLOUR_WEIGHTS.dot(means)[numpy.newaxis])[0]


@pytest.fixture(scope='module')
def onnx_files(tmp_path_factory):
    files = {}
    for name, traits in VARIANTS.items():
        directory = tmp_path_factory.mktemp(name)
        files[name] = make_onnx(directory / ('%s.onnx' % name), **traits)
    return files


# -- what the file says -------------------------------------------------------------------------

@pytest.mark.parametrize('name', sorted(VARIANTS))
def test_inspection_reads_each_exporters_file(onnx_files, name):
    spec = models.resolve_model_spec(onnx_files[name])
    traits = VARIANTS[name]
    assert spec.kind == 'onnx'
    assert spec.layout == traits.get('layout', 'NCHW')
    assert spec.input_name == traits.get('in_name', 'input')
    assert spec.output_name == traits.get('out_name', 'logits')
    assert spec.num_classes == 4 and spec.input_size == 32  # from the file, or its card
    assert spec.fixed_size == (not traits.get('dynamic_hw'))
    assert spec.input_dtype == ('float16' if traits.get('fp16_input') else 'float32')
    assert spec.output_kind == ('probabilities' if traits.get('softmax_inside') else 'logits')
    assert spec.info['opset'] == traits.get('opset', 11)
    assert spec.info['input']['dynamic_batch'] == (traits.get('batch', 1) != 1)
    assert len(spec.info['skipped_inputs']) == (
        (1 if traits.get('out4d') else 2) if traits.get('weights_as_inputs') else 0)
    assert spec.sha256 == __import__('hashlib').sha256(
        open(onnx_files[name], 'rb').read()).hexdigest()
    # the card beside the file: stretch, mean 0, std 1, its labels
    assert spec.resize == 'stretch' and spec.mean == (0.0,) * 3 and spec.std == (1.0,) * 3
    assert spec.labels.endswith('labels.txt')


@pytest.mark.parametrize('name', sorted(VARIANTS))
def test_onnxruntime_backend_computes_the_files_function(onnx_files, name, cache_dir):
    from trt_classifier.backends import create_backend
    from trt_classifier.schema import DEFAULTS
    from trt_classifier.serving import Config
    config = Config(dict(DEFAULTS, model=onnx_files[name], backend='onnxruntime'))
    assert config.labels == LABELS and config.input_size == 32
    with create_backend('onnxruntime', onnx_files[name], cache_dir=cache_dir) as backend:
        for frame, index in ((RED, 0), (GREEN, 1), (BLUE, 2)):
            out = backend.infer(config.preprocessor(frame))
            assert out.shape == (1, 4)
            from trt_classifier.preprocess import top_k
            best = top_k(out, 4, config.probabilities)
            assert best[0][0] == index
            # probabilities from the file are not put through softmax a second time
            assert abs(best[0][1] - expected_probabilities(frame)[index]) < 1e-5, best


def test_value_range_and_channel_order_parameters(onnx_files):
    from trt_classifier.schema import DEFAULTS
    from trt_classifier.serving import Config
    config = Config(dict(DEFAULTS, model=onnx_files['nhwc'], backend='onnxruntime',
                         normalize='custom', mean=[0.0, 0.0, 0.0], std=[255.0, 255.0, 255.0],
                         value_range=[0.0, 255.0], channel_order='bgr'))
    batch = config.preprocessor(RED)
    # pixels in 0..255 with std 255: back to 0..1; bgr puts red in the last channel
    assert numpy.allclose(batch[0, :, 0, 0], [0.0, 0.0, 1.0], atol=1e-6)


def test_card_value_range_alone_scales_pixels_to_it(tmp_path):
    from trt_classifier.schema import DEFAULTS
    from trt_classifier.serving import Config
    path = make_onnx(tmp_path / 'tf.onnx',
                     card='value_range: [-1, 1]\nresize: stretch\nlabels: labels.txt\n')
    batch = Config(dict(DEFAULTS, model=path, backend='onnxruntime')).preprocessor(RED)
    assert numpy.allclose(batch[0, :, 0, 0], [1.0, -1.0, -1.0], atol=1e-6)


def test_user_model_cli_shows_what_the_file_contains(onnx_files):
    proc = subprocess.run([sys.executable, '-m', 'trt_classifier.cli', 'models',
                           onnx_files['tf_style']], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout.decode('utf-8'))
    assert info['input']['name'] == 'serving_default/input_1:0'
    assert info['input']['layout'] == 'NHWC' and info['input']['shape'] == [-1, 32, 32, 3]
    assert info['output']['kind'] == 'probabilities' and info['output']['classes'] == 4
    assert info['opset'] == 9 and info['initializers_listed_as_inputs'] == 2
    assert info['card'].endswith('tf_style.yaml')


# -- bad inputs: one clear line each ------------------------------------------------------------

def test_bad_model_files_are_refused_with_one_line(tmp_path):
    not_onnx = tmp_path / 'notes.onnx'
    not_onnx.write_text('this is a text file, not a model\n')
    cases = [
        (str(not_onnx), 'is not an ONNX model'),
        (make_onnx(tmp_path / 'two.onnx', extra_input=('depth', [1, 3, 32, 32])),
         "2 image-like inputs ('input' [1, 3, 32, 32], 'depth' [1, 3, 32, 32])"),
        (make_onnx(tmp_path / 'mask.onnx', extra_input=('mask', [1, 10])),
         "input 'mask' [1, 10] is not an image and has no initializer"),
        (make_onnx(tmp_path / 'old.onnx', opset=8), 'uses opset 8'),
    ]
    # an output that is not a class vector: the pooled feature map (1, 3, 1, 1) -> (1, 3, 32, 32)
    model = onnx.load(make_onnx(tmp_path / 'map.onnx'))
    model.graph.output[0].CopyFrom(helper.make_tensor_value_info(
        'input', TensorProto.FLOAT, [1, 3, 32, 32]))
    model.graph.node.append(helper.make_node('Identity', ['logits'], ['unused']))
    onnx.save(model, str(tmp_path / 'map.onnx'))
    cases.append((str(tmp_path / 'map.onnx'),
                  "output 'input' has shape [1, 3, 32, 32], not a class vector"))
    for path, expected in cases:
        with pytest.raises(ClassifierError) as info:
            models.resolve_model_spec(path)
        message = str(info.value)
        assert expected in message and path in message and '\n' not in message, message


def test_wrong_label_count_and_chainer_with_onnx_are_refused(onnx_files, tmp_path):
    from trt_classifier.schema import DEFAULTS
    from trt_classifier.serving import Config
    labels = tmp_path / 'three.txt'
    labels.write_text('a\nb\nc\n')
    with pytest.raises(ClassifierError, match='has 3 class names, but model .* outputs 4'):
        Config(dict(DEFAULTS, model=onnx_files['nhwc'], backend='onnxruntime',
                    labels=str(labels)))
    with pytest.raises(ClassifierError, match='backend chainer cannot run the ONNX file .*use '
                                              'backend:=onnxruntime or backend:=tensorrt'):
        Config(dict(DEFAULTS, model=onnx_files['nhwc'], backend='chainer'))


def test_bad_dotted_names_are_refused_with_one_line():
    with pytest.raises(ClassifierError, match='cannot import module no_such_package.net'):
        models.resolve_model_spec('no_such_package.net:Net')
    with pytest.raises(ClassifierError, match='is not a chainer.Link subclass'):
        models.resolve_model_spec('tiny_chainer_net:NotALink')
    with pytest.raises(ClassifierError, match='has no attribute Missing'):
        models.resolve_model_spec('tiny_chainer_net:Missing')


def test_model_card_is_validated(tmp_path):
    path = make_onnx(tmp_path / 'm.onnx', card='resize: squash\n')
    with pytest.raises(ClassifierError, match='resize must be one of stretch, center_crop'):
        models.resolve_model_spec(path)
    path = make_onnx(tmp_path / 'n.onnx', card='!!python/object/apply:os.system ["true"]\n')
    with pytest.raises(ClassifierError, match='cannot read model card'):
        models.resolve_model_spec(path)  # safe_load: no Python objects from a card


# -- compressed frames --------------------------------------------------------------------------

def test_compressed_round_trip_and_corrupt_data():
    for codec in ('jpeg', 'png'):
        msg = rgb_to_compressed_msg(RED, codec)
        assert msg.format == 'rgb8; %s compressed bgr8' % codec
        rgb = compressed_msg_to_rgb(msg)
        assert rgb.shape == RED.shape and abs(int(rgb[..., 0].mean()) - 255) <= 2
        assert rgb[..., 2].mean() <= 2  # blue stays empty: channel order kept
    msg = rgb_to_compressed_msg(RED, 'jpeg')
    msg.data = msg.data[:40]
    with pytest.raises(ImageError, match='cannot decode .corrupt or truncated.'):
        compressed_msg_to_rgb(msg)
    msg.format = '16UC1; compressedDepth png'
    with pytest.raises(ImageError, match='compressedDepth'):
        compressed_msg_to_rgb(msg)


# -- through the node, over real DDS --------------------------------------------------------------

def _node(namespace, cache_dir, extra_env=None, **params):
    params.setdefault('cache_dir', cache_dir)
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [HERE, env.get('PYTHONPATH')]))
    env.update(extra_env or {})
    return NodeProcess('trt_classifier.classifier_node', ros_args(namespace, params), env=env)


def _set(probe, namespace, **values):
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParametersAtomically
    client = probe.node.create_client(SetParametersAtomically,
                                      namespace + '/classifier/set_parameters_atomically')
    assert client.wait_for_service(timeout_sec=30)
    future = client.call_async(SetParametersAtomically.Request(parameters=[
        Parameter(name=k, value=ParameterValue(type=ParameterType.PARAMETER_STRING,
                                               string_value=v)) for k, v in values.items()]))
    assert probe.wait_for(future.done, 30)
    return future.result().result


@pytest.mark.ros
@pytest.mark.timeout(300)
def test_foreign_onnx_files_through_the_node(onnx_files, cache_dir):
    """One node, every file swapped in at run time (ONNX files are data: allowed)."""
    node = _node('/byo', cache_dir, backend='onnxruntime', model=onnx_files['tf_style'])
    probe = Probe('/byo')
    try:
        assert probe.wait_subscribed(60), node.output()
        for name in ('tf_style', 'nhwc', 'dynamic_batch', 'softmax', 'out4d',
                     'weights_as_inputs', 'opset9', 'fp16_input', 'dynamic_hw'):
            if name != 'tf_style':
                result = _set(probe, '/byo', model=onnx_files[name])
                assert result.successful, result.reason
            for frame, label in ((RED, 'red'), (BLUE, 'blue')):
                got = None
                for _ in range(30):  # until the swapped-in model answers
                    got = probe.classify(rgb_to_image_msg(frame, 'bgr8', frame_id=name), 60)
                    assert got is not None, node.output()
                    if got['model'] == onnx_files[name]:
                        break
                assert got['model'] == onnx_files[name], got
                assert got['label'] == label, (name, got)
                expected = expected_probabilities(frame)[LABELS.index(label)]
                assert abs(got['score'] - expected) < 1e-4, (name, got['score'], expected)
                assert got['output_kind'] == ('probabilities' if VARIANTS[name].get(
                    'softmax_inside') else 'logits')
        # a dotted name is code: never from a runtime parameter change
        result = _set(probe, '/byo', model='tiny_chainer_net:TinyNet')
        assert not result.successful and 'only at start-up' in result.reason
        log = node.output()
        assert 'the graph ends in Softmax: its output is used as is' in log
        assert 'softmax applied by the node' in log
    finally:
        probe.close()
        node.cleanup()


@pytest.mark.ros
@pytest.mark.timeout(120)
def test_node_refuses_at_start_with_one_line(onnx_files, cache_dir, tmp_path):
    labels = tmp_path / 'five.txt'
    labels.write_text('a\nb\nc\nd\ne\n')
    cases = [
        ({'backend': 'chainer', 'model': onnx_files['softmax']},
         'backend chainer cannot run the ONNX file'),
        ({'backend': 'onnxruntime', 'model': onnx_files['softmax'], 'labels': str(labels)},
         'has 5 class names, but model'),
        ({'backend': 'chainer', 'model': 'tiny_chainer_net:NotALink'},
         'is not a chainer.Link subclass'),
        # no card: ImageNet's 1000 names against the class's 4 outputs (found by a zero frame)
        ({'backend': 'chainer', 'model': 'tiny_chainer_net:TinyNet'},
         'imagenet_classes.txt has 1000 class names, but model tiny_chainer_net:TinyNet '
         'outputs 4 classes'),
    ]
    for params, expected in cases:
        node = _node('/refuse', cache_dir, **params)
        try:
            assert node.wait(60) == 2, node.output()
            errors = [line for line in node.output().splitlines() if '[ERROR]' in line]
            assert len(errors) == 1 and expected in errors[0], node.output()
        finally:
            node.cleanup()


@pytest.mark.ros
@pytest.mark.timeout(300)
def test_own_chainer_class_on_chainer_and_onnxruntime(cache_dir, tmp_path):
    """model:=tiny_chainer_net:TinyNet with a weights file, its card beside the weights."""
    import chainer
    from tiny_chainer_net import TinyNet
    net = TinyNet()
    # trained weights: the green and blue classes swapped (proves the .npz was loaded)
    net.fc.W.array[...] = 4.0 * COLOUR_WEIGHTS[[0, 2, 1, 3]]
    weights = str(tmp_path / 'tiny.npz')
    chainer.serializers.save_npz(weights, net)
    with open(str(tmp_path / 'labels.txt'), 'w') as f:
        f.write('\n'.join(LABELS) + '\n')
    with open(str(tmp_path / 'tiny.yaml'), 'w') as f:
        f.write('input_size: 32\nresize: stretch\nvalue_range: [0, 1]\nlabels: labels.txt\n')
    model = 'tiny_chainer_net:TinyNet'
    scores = {}
    for backend in ('chainer', 'onnxruntime'):
        node = _node('/own_' + backend, cache_dir, backend=backend, model=model, weights=weights)
        probe = Probe('/own_' + backend)
        try:
            assert probe.wait_subscribed(90), node.output()
            got = probe.classify(rgb_to_image_msg(GREEN, 'rgb8'), 180)
            assert got is not None, node.output()
            assert got['model'] == model and got['label'] == 'blue', got
            scores[backend] = got['score']
            if backend == 'chainer':  # labels changed at run time: checked against 4 classes
                three = tmp_path / 'three.txt'
                three.write_text('a\nb\nc\n')
                result = _set(probe, '/own_chainer', labels=str(three))
                assert not result.successful and 'has 3 class names' in result.reason, \
                    result.reason
        finally:
            probe.close()
            node.cleanup()
    assert abs(scores['chainer'] - scores['onnxruntime']) < 1e-4, scores
    # the export is cached under the weights' digest and the class's code digest
    exported = os.listdir(os.path.join(cache_dir, 'onnx'))
    assert any(name.startswith('tiny_chainer_net-TinyNet-') for name in exported), exported


@pytest.mark.ros
@pytest.mark.timeout(300)
def test_compressed_camera_topic_jpeg_png_corrupt_and_image_source(
        onnx_files, cache_dir, tmp_path):
    node = _node('/cam', cache_dir, backend='onnxruntime', model=onnx_files['nhwc'],
                 transport='compressed')
    probe = Probe('/cam')
    source = None
    try:
        assert probe.wait_for(lambda: probe.compressed_pub.get_subscription_count() > 0, 60), \
            node.output()
        assert probe.wait_latency_matched(60), node.output()
        got = probe.classify(rgb_to_compressed_msg(RED, 'jpeg'), 120)
        assert got is not None, node.output()
        assert got['label'] == 'red' and got['encoding'] == 'rgb8; jpeg compressed bgr8'
        assert got['decode_ms'] > 0 and got['preprocess_ms'] > 0
        corrupt = rgb_to_compressed_msg(GREEN, 'jpeg')
        corrupt.data = corrupt.data[:len(corrupt.data) // 3]
        probe.compressed_pub.publish(corrupt)
        probe.spin(0.5)
        got = probe.classify(rgb_to_compressed_msg(BLUE, 'png'), 60)
        assert got is not None and got['label'] == 'blue', node.output()
        assert probe.wait_for(
            lambda: probe.diagnostic_values().get('frames_rejected') == '1', 10), \
            probe.diagnostic_values()
        assert probe.topics['latency/decode_ms'], 'no decode_ms published'
        log = node.output()
        assert 'subscribing /cam/image/compressed' in log
        assert log.count('cannot decode') == 1, log
        # image_source publishes compressed frames too
        path = str(tmp_path / 'green.png')
        cv2.imwrite(path, cv2.cvtColor(GREEN, cv2.COLOR_RGB2BGR))
        source = NodeProcess('trt_classifier.image_source', ros_args('/cam', {
            'source': path, 'transport': 'compressed', 'rate_hz': 5.0, 'frame_id': 'camera'}))
        assert probe.wait_for(lambda: any(
            r['frame_id'] == 'camera' and r['label'] == 'green' for r in probe.results()), 60), \
            source.output()
        # image_qos: auto followed the compressed topic's (reliable) publishers
        assert 'subscribing /cam/image/compressed reliable' in node.output(), node.output()
    finally:
        if source is not None:
            source.cleanup()
        probe.close()
        node.cleanup()


# -- the TensorRT builder, where it is installed -------------------------------------------------

@pytest.mark.parametrize('name', sorted(VARIANTS))
def test_tensorrt_rtx_parses_and_builds_each_file_by_its_own_names(onnx_files, name):
    trt = pytest.importorskip('tensorrt_rtx', reason='TensorRT-RTX builder not installed')
    spec = models.resolve_model_spec(onnx_files[name])
    logger = trt.Logger(trt.Logger.ERROR)
    builder = trt.Builder(logger)
    network = builder.create_network(0)
    parser = trt.OnnxParser(network, logger)
    with open(onnx_files[name], 'rb') as f:
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        assert parser.parse(f.read()), errors
    inputs = [network.get_input(i).name for i in range(network.num_inputs)]
    outputs = [network.get_output(i).name for i in range(network.num_outputs)]
    assert inputs == [spec.input_name] and outputs == [spec.output_name]
    config = builder.create_builder_config()
    shape = (1, 32, 32, 3) if spec.layout == 'NHWC' else (1, 3, 32, 32)
    if -1 in spec.info['input']['shape']:  # dynamic batch or size: one fixed profile
        profile = builder.create_optimization_profile()
        profile.set_shape(spec.input_name, shape, shape, shape)
        config.add_optimization_profile(profile)
    assert builder.build_serialized_network(network, config) is not None


@pytest.mark.parametrize('name', sorted(VARIANTS))
def test_build_engine_takes_each_file(onnx_files, name, tmp_path):
    """The package's own build path (``build-engine --model FILE``) on TensorRT-RTX."""
    pytest.importorskip('tensorrt_rtx', reason='TensorRT-RTX builder not installed')
    from trt_classifier.backends.tensorrt_backend import build_engine
    from support import RecordingLog
    folder = sorted(os.listdir(os.path.dirname(onnx_files[name])))
    log = RecordingLog()
    path = build_engine(onnx_files[name], cache_dir=str(tmp_path), log=log,
                        runtime='tensorrt_rtx', targets='8.6',
                        precision='fp16' if name == 'tf_style' else 'fp32')
    assert os.path.basename(path).startswith(name + '-'), path  # the file's name, not its path
    assert os.path.getsize(path) > 0 and os.path.exists(path + '.sha256')
    # the fp16 copy of a user's file goes to the cache, never into the user's folder
    assert sorted(os.listdir(os.path.dirname(onnx_files[name]))) == folder


def test_build_engine_cli_with_a_file(onnx_files, tmp_path):
    pytest.importorskip('tensorrt_rtx', reason='TensorRT-RTX builder not installed')
    proc = subprocess.run(
        [sys.executable, '-m', 'trt_classifier.cli', '--cache-dir', str(tmp_path),
         'build-engine', '--model', onnx_files['nhwc'], '--runtime', 'tensorrt_rtx',
         '--compute-capabilities', '8.9'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        timeout=300)
    assert proc.returncode == 0, proc.stderr
    path = proc.stdout.decode('utf-8').strip().splitlines()[-1]
    assert os.path.basename(path).startswith('nhwc-') and os.path.isfile(path), path


@pytest.mark.ros
@pytest.mark.timeout(300)
def test_bench_takes_a_file_and_reports_its_digest(onnx_files, cache_dir, tmp_path):
    import glob
    import hashlib
    path = onnx_files['tf_style']
    proc = subprocess.run(
        [sys.executable, '-m', 'trt_classifier.cli', '--cache-dir', cache_dir, 'bench',
         '--backends', 'chainer,onnxruntime', '--models', path, '--iterations', '3',
         '--output-dir', str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        timeout=240)
    log = proc.stdout.decode('utf-8', 'replace')
    assert proc.returncode == 0, log
    with open(glob.glob(str(tmp_path / '*' / 'bench.json'))[0]) as f:
        result = json.load(f)
    digest = hashlib.sha256(open(path, 'rb').read()).hexdigest()
    assert result['protocol']['model_files'][path] == {'file': path, 'sha256': digest}
    runs = {run['backend']: run for run in result['runs']}
    assert len(runs['onnxruntime']['samples']) == 3
    assert 'Chainer cannot run ONNX files' in runs['chainer']['error']
    assert 'Model %s: file %s, sha256 %s' % (path, path, digest) in log


def test_profiler_reads_a_foreign_file(onnx_files, cache_dir):
    from trt_classifier import profiling
    result = profiling.profile(onnx_files['tf_style'], 'onnxruntime', runs=2,
                               cache_dir=cache_dir)
    assert result['model'] == onnx_files['tf_style']
    ops = {layer['op'] for layer in result['layers']}
    assert {'GlobalAveragePool', 'Gemm', 'Softmax'} <= ops, ops


# -- the TensorRT backend's wiring with a user's file (fake TensorRT 10 + fake pycuda) -----------

def _fake_trt_for(spec, monkeypatch):
    """Install test_tensorrt_backend's fakes, with an engine whose I/O are the file's tensors."""
    from test_tensorrt_backend import FakeCuda, make_fake_trt
    cuda = FakeCuda()
    trt = make_fake_trt('10.3.0', cuda)
    names = (spec.input_name, spec.output_name)
    in_shape = tuple(-1 if d < 0 else d for d in spec.info['input']['shape'])
    out_shape = tuple(1 if d < 0 else d for d in spec.info['output']['shape'])

    class Context(object):

        def __init__(self):
            self.addresses, self.shape = {}, None

        def set_input_shape(self, name, shape):
            assert name == names[0]
            self.shape = tuple(shape)

        def set_tensor_address(self, name, pointer):
            self.addresses[name] = pointer

        def get_tensor_shape(self, name):
            return out_shape if name == names[1] else (self.shape or in_shape)

        def execute_async_v3(self, stream_handle):
            assert set(self.addresses) == set(names), self.addresses
            pixels = cuda.read(self.addresses[names[0]], self.shape or in_shape)
            axes = (1, 2) if spec.layout == 'NHWC' else (2, 3)
            out = COLOUR_WEIGHTS.dot(pixels.mean(axis=axes)[0]).astype(numpy.float32)
            cuda.device_bytes(self.addresses[names[1]], out.nbytes)[...] = out.view(numpy.uint8)
            return True

    class Engine(object):
        num_io_tensors = 2

        def get_tensor_name(self, i):
            return names[i]

        def get_tensor_mode(self, name):
            return trt.TensorIOMode.INPUT if name == names[0] else trt.TensorIOMode.OUTPUT

        def get_tensor_shape(self, name):
            return in_shape if name == names[0] else out_shape

        def get_tensor_dtype(self, name):
            return trt.DataType.FLOAT

        def create_execution_context(self):
            return Context()

    class Runtime(object):

        def __init__(self, logger):
            pass

        def deserialize_cuda_engine(self, blob):
            return Engine()

    trt.Runtime = Runtime
    pycuda = type(sys)('pycuda')
    pycuda.driver = cuda
    monkeypatch.setitem(sys.modules, 'tensorrt', trt)
    monkeypatch.setitem(sys.modules, 'pycuda', pycuda)
    monkeypatch.setitem(sys.modules, 'pycuda.driver', cuda)
    from trt_classifier.backends import tensorrt_backend
    monkeypatch.setattr(tensorrt_backend, '_TRT_LOGGER', {})
    monkeypatch.setattr(tensorrt_backend, 'probe_gpus', lambda: ([('NVIDIA Tegra X1', '5.3')], ''))
    return cuda


@pytest.mark.parametrize('name', ['tf_style', 'out4d', 'dynamic_batch'])
def test_tensorrt_backend_binds_the_files_own_tensor_names(onnx_files, name, tmp_path,
                                                           monkeypatch):
    from trt_classifier.backends import create_backend
    from trt_classifier.schema import DEFAULTS
    from trt_classifier.serving import Config
    from support import RecordingLog
    spec = models.resolve_model_spec(onnx_files[name])
    cuda = _fake_trt_for(spec, monkeypatch)
    config = Config(dict(DEFAULTS, model=onnx_files[name], backend='onnxruntime'))
    log = RecordingLog()
    backend = create_backend('tensorrt', onnx_files[name], device='gpu', cache_dir=str(tmp_path),
                             log=log, options={'input_size': 32}).load()
    try:
        engine = os.path.basename(backend.engine_path)
        assert engine.startswith(name + '-fp32-'), engine  # named by the file, keyed by digest
        for frame, index in ((RED, 0), (GREEN, 1), (BLUE, 2)):
            logits = backend.infer(config.preprocessor(frame))
            assert logits.shape == (1, 4) and int(logits.argmax()) == index, logits
    finally:
        backend.close()
    assert cuda.memory == {} and cuda.pushes == cuda.pops


def test_bench_request_check_takes_files_and_classes(onnx_files, tmp_path):
    from trt_classifier.bench_runner import check_request
    check_request(['onnxruntime'], ['squeezenet1_1', onnx_files['nhwc'], 'tiny_chainer_net:Net'])
    bad = tmp_path / 'bad.onnx'
    bad.write_text('not a model')
    for model, expected in ((str(bad), 'is not an ONNX model'),
                            (str(tmp_path / 'gone.onnx'), 'No such file'),
                            ('resnet50', "unknown model 'resnet50'; valid models: ")):
        with pytest.raises(ClassifierError, match=expected):
            check_request(['onnxruntime'], [model])
