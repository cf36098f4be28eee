# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""The vocabulary every backend's per-layer profiler describes its layers in.

A layer's kind (conv, bn, activation, add, concat, pool, fc, softmax, other) read from a
Chainer function, an ONNX op type or a TensorRT layer name or type; the kind that names a fused
layer; and :func:`layer`, the normalised layer record that trt_classifier.profiling sums up.
"""

import re

KINDS = ('conv', 'bn', 'activation', 'add', 'concat', 'pool', 'fc', 'softmax', 'other')
KIND_LABELS = {'activation': 'relu/activation', 'fc': 'fc (linear/gemm)', 'other': 'reshape/other'}
# Which kind names a fused layer: the heaviest operation in it.
_PRIMARY_ORDER = ('conv', 'fc', 'pool', 'concat', 'add', 'bn', 'activation', 'softmax', 'other')
_EXACT_KINDS = {
    'conv': ('conv', 'convolution', 'convolution2d', 'convolution2dfunction', 'convolutionnd',
             'convolutionndfunction', 'fusedconv', 'caskconvolution', 'depthwiseconvolution2d',
             'deconvolution2dfunction', 'convtranspose', 'convinteger', 'qlinearconv',
             'nchwcconv'),
    'bn': ('bn', 'batchnorm', 'batchnormalization', 'fixedbatchnormalization',
           'batchnormalizationfunction', 'scale', 'instancenormalization'),
    'activation': ('relu', 'relu6', 'clippedrelu', 'clip', 'leakyrelu', 'sigmoid', 'hardsigmoid',
                   'tanh', 'elu', 'selu', 'swish', 'hardswish', 'gelu', 'prelu', 'softplus',
                   'mish', 'activation', 'pwn', 'pointwise', 'pointwisev2'),
    'add': ('add', 'sum', 'elementwise', 'eltwise'),
    'concat': ('concat', 'concatenation'),
    'pool': ('pool', 'pooling', 'maxpool', 'averagepool', 'globalaveragepool', 'globalmaxpool',
             'maxpoolingnd', 'maxpooling2d', 'averagepoolingnd', 'averagepooling2d', 'mean',
             'reducemean', 'caskpooling', 'reduce'),
    'fc': ('fc', 'linear', 'linearfunction', 'gemm', 'fusedgemm', 'matmul', 'fusedmatmul',
           'fullyconnected', 'innerproduct', 'matrixmultiply'),
    'softmax': ('softmax', 'logsoftmax'),
    'other': ('reshape', 'flatten', 'transpose', 'shuffle', 'reformat', 'reorderinput',
              'reorderoutput', 'identity', 'dropout', 'copy', 'squeeze', 'unsqueeze', 'gather',
              'shape', 'constant', 'cast', 'pad', 'noop', 'slice', 'split'),
}
_KIND_OF = {key: kind for kind, keys in _EXACT_KINDS.items() for key in keys}
# Fallback for names that are not a bare operator (``'CaskConvolution_xyz'``); ``add``/``sum``
# are deliberately exact-only (they hide inside ``padding``, ``summary``).
_SUBSTRING_KINDS = (
    ('other', ('reformat', 'copynode', 'reorder', 'reshape', 'shuffle')),
    ('softmax', ('softmax',)),
    ('conv', ('conv',)),
    ('bn', ('batchnorm',)),
    ('pool', ('pool',)),
    ('fc', ('gemm', 'matmul', 'linear', 'fullyconnected', 'innerproduct')),
    ('concat', ('concat',)),
    ('activation', ('relu', 'clip', 'sigmoid', 'tanh', 'swish', 'pwn', 'pointwise')),
    ('add', ('elementwise', 'eltwise')),
)


def layer_kind(name):
    """Return the kind of a Chainer function, ONNX op type or TensorRT layer name/type.

    ``'Convolution2DFunction'``, ``'FusedConv'``, ``'Conv_8'``, ``'CaskConvolution'`` -> conv;
    ``'FixedBatchNormalization'`` -> bn; ``'ReLU'``, ``'Clip'`` -> activation; ``'Add'``,
    ``'Sum'`` -> add; ``'Concat'`` -> concat; ``'MaxPoolingND'``, ``'GlobalAveragePool'``,
    ``'Mean'`` -> pool; ``'LinearFunction'``, ``'Gemm'`` -> fc; ``'Softmax'`` -> softmax;
    anything else -> other.
    """
    text = str(name or '').strip()
    if text.startswith('PWN('):
        return 'activation'
    low = text.lower().split(':')[-1]
    low = re.sub(r'_nchwc$', '', low)
    low = re.sub(r'([_.:\-]?\d+)+$', '', low)  # Conv_8, ReLU_0, conv1
    key = re.sub(r'[^a-z0-9]', '', low)
    if key in _KIND_OF:
        return _KIND_OF[key]
    for kind, needles in _SUBSTRING_KINDS:
        if any(needle in key for needle in needles):
            return kind
    return 'other'


def primary_kind(kinds):
    """Return the kind that names a fused layer: conv over fc over pool ... over other."""
    kinds = set(kinds)
    for kind in _PRIMARY_ORDER:
        if kind in kinds:
            return kind
    return 'other'


def fusion_pattern(kinds):
    """``['conv', 'bn', 'activation']`` -> ``'conv+bn+activation'`` (repeats collapsed)."""
    out = []
    for kind in kinds:
        if not out or out[-1] != kind:
            out.append(kind)
    return '+'.join(out)


def layer(name, op, kind, ms, sources, source_kinds, provider=None):
    """Return one normalised layer: ``ms`` per forward, the original layers fused into it."""
    layer = {'name': name, 'op': op, 'kind': kind, 'ms': float(ms), 'sources': list(sources),
             'fused': len(sources) > 1}
    if len(sources) > 1:
        layer['pattern'] = fusion_pattern(source_kinds)
    if provider:
        layer['provider'] = provider
    return layer
