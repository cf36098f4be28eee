# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""The layer-kind vocabulary every backend's profiler names its layers in."""

import pytest

from trt_classifier import layer_kinds


@pytest.mark.parametrize('name, kind', [
    # Chainer function names
    ('Convolution2DFunction', 'conv'), ('FixedBatchNormalization', 'bn'), ('ReLU', 'activation'),
    ('ClippedReLU', 'activation'), ('Add', 'add'), ('Concat', 'concat'),
    ('MaxPoolingND', 'pool'), ('MaxPooling2D', 'pool'), ('AveragePooling2D', 'pool'),
    ('Mean', 'pool'), ('LinearFunction', 'fc'), ('Softmax', 'softmax'), ('Reshape', 'other'),
    # ONNX / ONNX Runtime op types
    ('Conv', 'conv'), ('FusedConv', 'conv'), ('nchwc.Conv', 'conv'), ('Relu', 'activation'),
    ('Clip', 'activation'), ('BatchNormalization', 'bn'), ('Sum', 'add'),
    ('GlobalAveragePool', 'pool'), ('ReduceMean', 'pool'), ('Gemm', 'fc'), ('MatMul', 'fc'),
    ('ReorderOutput', 'other'), ('Flatten', 'other'),
    # TensorRT layer names (ONNX node names) and inspector layer types
    ('Conv_8', 'conv'), ('Add_9', 'add'), ('Relu_10', 'activation'),
    ('Convolution2DFunction_3', 'conv'), ('ReLU_0_nchwc', 'activation'),
    ('CaskConvolution', 'conv'), ('Pooling', 'pool'), ('Shuffle', 'other'),
    ('PWN(Relu_10)', 'activation'), ('', 'other'), ('Padding', 'other'),
])
def test_layer_kind(name, kind):
    assert layer_kinds.layer_kind(name) == kind


def test_primary_kind_and_pattern():
    assert layer_kinds.primary_kind(['activation', 'bn', 'conv']) == 'conv'
    assert layer_kinds.primary_kind([]) == 'other'
    assert layer_kinds.fusion_pattern(['conv', 'bn', 'bn', 'activation']) == 'conv+bn+activation'


def test_layer_records_fusion():
    single = layer_kinds.layer('Conv_0', 'Conv', 'conv', 1, ['Conv_0'], ['conv'])
    assert single == {'name': 'Conv_0', 'op': 'Conv', 'kind': 'conv', 'ms': 1.0,
                      'sources': ['Conv_0'], 'fused': False}
    fused = layer_kinds.layer('f', 'FusedConv', 'conv', 2.5, ['Conv_0', 'Relu_0'],
                              ['conv', 'activation'], provider='CPUExecutionProvider')
    assert fused['fused'] and fused['pattern'] == 'conv+activation'
    assert fused['provider'] == 'CPUExecutionProvider'
