# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""The GPU path (skipped without CuPy and a CUDA device).

CuPy preprocessing vs the CPU Preprocessor, Chainer on the GPU vs the CPU, the ``static_graph``
experiment (tools/chainer_static_graph.py) vs eager, and the pycuda plumbing (where pycuda is
installed).
"""

import json
import os
import subprocess
import sys

import cv2
import numpy
import pytest

from trt_classifier.agreement import relative_l2
from trt_classifier.models import CAFFE_BGR_MEAN, CAFFE_STD, IMAGENET_MEAN, IMAGENET_STD
from trt_classifier.preprocess import Preprocessor

pytestmark = pytest.mark.gpu

cupy = pytest.importorskip('cupy', reason='the GPU tests need CuPy')

from trt_classifier.gpu_preprocess import gpu_available, GpuPreprocessor  # noqa: E402,I100

_GPU_OK, _GPU_WHY = gpu_available()
if not _GPU_OK:
    pytest.skip('no usable CUDA device: %s' % _GPU_WHY, allow_module_level=True)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES_DIR = os.path.join(ROOT, 'trt_classifier', 'data', 'samples')
NORMS = {'imagenet': (IMAGENET_MEAN, IMAGENET_STD), 'caffe': (CAFFE_BGR_MEAN, CAFFE_STD)}


def _frame(kind):
    if kind == 'photo':
        path = os.path.join(SAMPLES_DIR, 'chelsea.jpg')
        bgr = cv2.imread(path, cv2.IMREAD_COLOR)
        assert bgr is not None, path
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    width, height = (int(v) for v in kind.split('x'))
    return numpy.random.RandomState(width + height).randint(
        0, 256, (height, width, 3)).astype(numpy.uint8)


@pytest.mark.parametrize('order', ['rgb', 'bgr'])
@pytest.mark.parametrize('policy', ['stretch', 'center_crop'])
@pytest.mark.parametrize('kind', ['640x480', '1280x720', '480x640', '224x224', '256x256',
                                  'photo'])
@pytest.mark.parametrize('norm', ['imagenet', 'caffe'])
def test_gpu_preprocessing_matches_cpu(kind, policy, order, norm):
    frame = _frame(kind)
    mean, std = NORMS[norm]
    cpu = Preprocessor(224, policy, mean, std, order)(frame)
    gpu = GpuPreprocessor(224, policy, mean, std, order)(frame)
    assert isinstance(gpu, cupy.ndarray)
    assert gpu.shape == (1, 3, 224, 224) and gpu.dtype == numpy.float32
    diff = numpy.abs(cupy.asnumpy(gpu) - cpu)
    # The CPU path rounds the resized image to uint8 (OpenCV interpolates in fixed point), the
    # GPU path keeps float32: at most ~1 grey level apart, ~0.25 on average.
    grey = 1.0 / (255.0 * min(std))
    assert diff.max() <= 1.5 * grey, (diff.max() / grey, 'grey levels')
    assert diff.mean() <= 0.5 * grey, (diff.mean() / grey, 'grey levels')


@pytest.mark.parametrize('size', [224, 227])
def test_gpu_preprocessing_cupy_input_and_odd_sizes(size):
    frame = _frame('photo')
    small = cv2.resize(frame, (97, 61), interpolation=cv2.INTER_LINEAR)
    for image in (frame, small):
        cpu = Preprocessor(size, 'center_crop')(image)
        gpu = GpuPreprocessor(size, 'center_crop')(cupy.asarray(image))
        grey = 1.0 / (255.0 * min(IMAGENET_STD))
        assert float(abs(cupy.asnumpy(gpu) - cpu).max()) <= 1.5 * grey


def test_gpu_preprocessing_rejects_bad_frames():
    from trt_classifier.errors import ClassifierError
    pre = GpuPreprocessor()
    with pytest.raises(ClassifierError):
        pre(numpy.zeros((10, 10), dtype=numpy.uint8))
    with pytest.raises(ClassifierError):
        pre(numpy.zeros((10, 10, 3), dtype=numpy.float32))


def _need_chainer():
    # Not pytest.importorskip('chainer'): Chainer 7.8.1 needs the NumPy patches of
    # trt_classifier.compat first, and a failed bare import leaves a broken half-imported module.
    from trt_classifier.backends import check_available
    from trt_classifier.errors import BackendUnavailable
    try:
        check_available('chainer')
    except BackendUnavailable as exc:
        pytest.skip(str(exc))


def _chainer_backend(model, device, cache_dir, **options):
    from trt_classifier.backends import create_backend
    return create_backend('chainer', model, weights='random', device=device,
                          cache_dir=cache_dir, options=options).load()


@pytest.mark.parametrize('model', ['squeezenet1_1', 'efficientnet_lite0'])
def test_chainer_gpu_matches_cpu(model, cache_dir):
    _need_chainer()
    from trt_classifier.models import get_spec
    spec = get_spec(model)
    frame = _frame('photo')
    batch = Preprocessor.for_model(spec)(frame)
    cpu = _chainer_backend(model, 'cpu', cache_dir)
    gpu = _chainer_backend(model, 'gpu', cache_dir)
    try:
        want = cpu.infer(batch)
        got = gpu.infer(batch)
        assert isinstance(got, numpy.ndarray) and got.shape == want.shape == (1, 1000)
        assert relative_l2(got, want) < 1e-4
        # The whole GPU path: GpuPreprocessor's CuPy batch straight into the GPU backend.
        gpu_batch = GpuPreprocessor.for_model(spec)(frame)
        on_gpu = gpu.infer(gpu_batch)
        assert relative_l2(on_gpu, cpu.infer(cupy.asnumpy(gpu_batch))) < 1e-4
    finally:
        cpu.close()
        gpu.close()


def test_static_graph_matches_eager(cache_dir):
    """The experiment of tools/chainer_static_graph.py replays the eager results (to 1e-5)."""
    _need_chainer()
    out = _run_tool('chainer_static_graph.py', '--models', 'squeezenet1_1,resnet101',
                    '--cache-dir', cache_dir)
    assert out['ok'] and set(out['relative_l2']) == {'squeezenet1_1', 'resnet101'}, out


def _run_tool(name, *args):
    """Run tools/``name`` from the repository root; return its JSON summary (exit status 0)."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (ROOT, env.get('PYTHONPATH')) if p)
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'tools', name)] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=300)
    out = proc.stdout.decode('utf-8', 'replace')
    assert proc.returncode == 0, out + proc.stderr.decode('utf-8', 'replace')[-4000:]
    return json.loads(out)


def test_pycuda_plumbing():
    pytest.importorskip('pycuda.driver', reason='no pycuda here (build it from its sdist)')
    summary = _run_tool('gpu_pycuda_check.py', '--iterations', '3')
    assert summary['ok'] and not summary['failures'], summary


@pytest.mark.ros
@pytest.mark.timeout(300)
def test_node_end_to_end_on_gpu(cache_dir):
    """classifier_node with device:=gpu over real DDS: GPU preprocessing + Chainer on CuPy."""
    from trt_classifier.imgconv import rgb_to_image_msg
    from trt_classifier.procs import NodeProcess, ros_args
    from support import Probe
    node = NodeProcess('trt_classifier.classifier_node', ros_args('/gpu', {
        'backend': 'chainer', 'model': 'squeezenet1_1', 'weights': 'random', 'device': 'gpu',
        'cache_dir': cache_dir}))
    probe = Probe('/gpu')
    try:
        assert probe.wait_subscribed(60), node.output()
        results = [probe.classify(rgb_to_image_msg(_frame(kind), 'rgb8'), timeout=120)
                   for kind in ('photo', '640x480', '1280x720')]
        probe.spin(1.5)
        diag = probe.diagnostic_values()
    finally:
        probe.close()
        node.cleanup()
    assert all(r is not None for r in results), node.output()
    assert {r['device'] for r in results} == {'gpu:0'}
    assert diag.get('preprocess_on') == 'gpu:0', diag
    assert all(r['inference_ms'] > 0 for r in results)
