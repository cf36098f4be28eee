# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""VGG16 and ResNet101 from ``chainer.links``, returning logits.

The classes subclass ``VGG16Layers`` / ``ResNet101Layers``, so their parameter names are
Chainer's own: an npz written by ``VGG16Layers.convert_caffemodel_to_npz`` or
``ResNetLayers.convert_caffemodel_to_npz(..., n_layers=101)`` (also what Chainer caches as
``~/.chainer/dataset/pfnet/chainer/models/VGG_ILSVRC_16_layers.npz`` / ``ResNet-101-model.npz``)
loads as ``weights:=PATH`` unchanged. :func:`convert_caffemodel` does that conversion.

Parameter counts: VGG16 138,357,544 (as published); ResNet101 44,549,224, which is the published
44,549,160 plus the 64 biases of ``conv1`` that the Caffe model (and hence Chainer) has.
Inputs are Caffe-style: BGR, 0..255 minus the per-channel mean (see the model table).
"""

from trt_classifier.compat import import_chainer
from trt_classifier.errors import ClassifierError

chainer = import_chainer()
L = chainer.links


class VGG16(L.VGG16Layers):
    """``forward(x)`` returns the fc8 logits; ``forward(x, layers=[...])`` is Chainer's."""

    def __init__(self):
        super(VGG16, self).__init__(pretrained_model=None)

    def forward(self, x, layers=None, **kwargs):
        if layers is None:
            return super(VGG16, self).forward(x, layers=['fc8'], **kwargs)['fc8']
        return super(VGG16, self).forward(x, layers=layers, **kwargs)


class ResNet101(L.ResNet101Layers):
    """``forward(x)`` returns the fc6 logits; ``forward(x, layers=[...])`` is Chainer's."""

    def __init__(self):
        super(ResNet101, self).__init__(pretrained_model=None)

    def forward(self, x, layers=None, **kwargs):
        if layers is None:
            return super(ResNet101, self).forward(x, layers=['fc6'], **kwargs)['fc6']
        return super(ResNet101, self).forward(x, layers=layers, **kwargs)


def convert_caffemodel(name, caffemodel_path, out_npz):
    """Convert an original Caffe model to an npz that ``weights:=out_npz`` loads.

    ``name`` is ``vgg16`` (VGG_ILSVRC_16_layers.caffemodel) or ``resnet101``
    (ResNet-101-model.caffemodel). Needs the ``protobuf`` package (Chainer's Caffe reader).
    """
    try:
        if name == 'vgg16':
            L.VGG16Layers.convert_caffemodel_to_npz(caffemodel_path, out_npz)
        elif name == 'resnet101':
            L.ResNet101Layers.convert_caffemodel_to_npz(caffemodel_path, out_npz, n_layers=101)
        else:
            raise ClassifierError('convert_caffemodel: model %r is not a Caffe model '
                                  '(vgg16 or resnet101)' % name)
    except ClassifierError:
        raise
    except Exception as exc:
        raise ClassifierError('cannot convert %s for model %s: %s' % (
            caffemodel_path, name, exc)) from exc
    return out_npz
