# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Backend registry, devices and ONNX Runtime provider choice."""

import json
import os
import subprocess
import sys

import numpy
import pytest

from trt_classifier.backends import create_backend
from trt_classifier.backends.base import parse_device
from trt_classifier.backends.onnxruntime_backend import choose_providers
from trt_classifier.errors import BackendUnavailable, ClassifierError


@pytest.mark.parametrize('text,expected', [
    ('cpu', ('cpu', 0)), ('gpu', ('gpu', 0)), ('GPU:1', ('gpu', 1)), (' gpu:12 ', ('gpu', 12))])
def test_parse_device(text, expected):
    assert parse_device(text) == expected


@pytest.mark.parametrize('text', ['cpu:0', 'tpu', 'gpu:', 'gpu:-1', ''])
def test_parse_device_rejects(text):
    with pytest.raises(ClassifierError, match='device must be cpu, gpu or gpu:N'):
        parse_device(text)


def test_providers():
    available = ['TensorrtExecutionProvider', 'CUDAExecutionProvider', 'CPUExecutionProvider']
    assert choose_providers('cpu', 0, available) == ['CPUExecutionProvider']
    assert choose_providers('gpu', 1, available) == [
        ('CUDAExecutionProvider', {'device_id': 1}), 'CPUExecutionProvider']
    assert choose_providers('gpu', 0, available, use_tensorrt=True)[0] == (
        'TensorrtExecutionProvider', {'device_id': 0})


def test_missing_gpu_provider_says_what_to_install():
    with pytest.raises(BackendUnavailable) as info:
        choose_providers('gpu', 0, ['CPUExecutionProvider'])
    message = str(info.value)
    assert 'needs CUDAExecutionProvider' in message and 'onnxruntime-gpu' in message


def test_null_backend_times_itself():
    with create_backend('null', 'efficientnet_lite0', weights='pretrained') as backend:
        logits = backend.infer(numpy.zeros((1, 3, 224, 224), numpy.float32))
        assert logits.shape == (1, 1000) and backend.last_inference_ms >= 0
        assert backend.describe()['backend'] == 'null'
        assert backend.describe()['weights'] == 'none'  # whatever was asked: it has none


def test_static_graph_experiment_replays_eager_on_the_cpu(cache_dir):
    """tools/chainer_static_graph.py (the experiment kept out of the backend) still runs.

    On the CPU here; test_gpu.py runs it on the GPU, where it was measured.
    """
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (root, os.environ.get('PYTHONPATH')) if p))
    proc = subprocess.run(
        [sys.executable, os.path.join(root, 'tools', 'chainer_static_graph.py'), '--device',
         'cpu', '--models', 'squeezenet1_1', '--cache-dir', cache_dir],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode('utf-8', 'replace')[-4000:]
    summary = json.loads(proc.stdout.decode('utf-8'))
    assert summary['ok'] and len(summary['relative_l2']['squeezenet1_1']) == 4, summary
