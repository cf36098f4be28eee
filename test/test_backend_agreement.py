# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Chainer and ONNX Runtime give the same logits for every model; the null and unknown backends.

Every model is exported once into the session's shared cache (test/conftest.py); the two big ones
(vgg16, resnet101) take most of this file's time, so each model is loaded once per backend and
closed before the next one.
"""

import os

import numpy
import pytest

from trt_classifier import agreement
from trt_classifier.backends import backend_names, create_backend
from trt_classifier.errors import ClassifierError
from trt_classifier.frames import read_rgb, samples_dir
from trt_classifier.models import get_spec, MODELS, pretrained_available
from trt_classifier.preprocess import load_labels, Preprocessor

pytest.importorskip('onnxruntime')
pytest.importorskip('onnx')

PHOTOS = ('chelsea', 'coffee')
CATS = set(range(281, 286))  # tabby, tiger cat, Persian cat, Siamese cat, Egyptian cat
COFFEE = {967, 968, 504, 969}  # espresso, cup, coffee mug, eggnog


def photo(name):
    return read_rgb(os.path.join(samples_dir(), name + '.jpg'))


def photo_batches(spec, names=PHOTOS):
    pre = Preprocessor.for_model(spec)
    return [pre(photo(name)) for name in names]


def chainer_vs_onnxruntime(model, weights, cache_dir, names=PHOTOS):
    spec = get_spec(model)
    batches = photo_batches(spec, names)
    for batch in batches:
        assert batch.shape == (1, 3, spec.input_size, spec.input_size)
        assert batch.dtype == numpy.float32
    with create_backend('chainer', model, weights=weights, cache_dir=cache_dir) as reference, \
            create_backend('onnxruntime', model, weights=weights,
                           cache_dir=cache_dir) as candidate:
        assert reference.weights_identity == candidate.weights_identity
        logits = [reference.infer(b) for b in batches]
        report = agreement.compare_backends(reference, candidate, batches)
    for out in logits:
        assert out.shape == (1, 1000) and numpy.isfinite(out).all()
    return report, logits


# -- every model, random weights --------------------------------------------------------------

@pytest.mark.parametrize('model', sorted(MODELS))
def test_onnxruntime_matches_chainer_fp32(model, cache_dir):
    report, logits = chainer_vs_onnxruntime(model, 'random', cache_dir)
    assert len(report['relative_l2']) == len(PHOTOS)
    assert report['max_relative_l2'] < agreement.TOLERANCES['fp32'], (model, report)
    assert report['top1_agree'] == report['rows'] == len(PHOTOS), (model, report)
    # The photos are told apart: a model that ignores its input would pass the check above.
    assert agreement.relative_l2(logits[0], logits[1]) > 1e3 * agreement.TOLERANCES['fp32']


# -- pretrained EfficientNet-Lite0 on real photos ---------------------------------------------

def test_pretrained_efficientnet_lite0_same_top1(cache_dir):
    if not pretrained_available('efficientnet_lite0', cache_dir):
        pytest.skip('efficientnet_lite0 pretrained weights are not installed here')
    report, logits = chainer_vs_onnxruntime('efficientnet_lite0', 'pretrained', cache_dir)
    assert report['top1_agree'] == report['rows'] == 2, report
    assert report['max_relative_l2'] < agreement.TOLERANCES['fp32'], report
    labels = load_labels()
    chelsea, coffee = (int(numpy.argmax(out)) for out in logits)
    assert chelsea in CATS, labels[chelsea]
    assert coffee in COFFEE, labels[coffee]


# -- null and unknown backends ----------------------------------------------------------------

def test_null_backend_does_no_compute(monkeypatch, tmp_path):
    from trt_classifier import artefacts

    def forbidden(*args, **kwargs):
        raise AssertionError('the null backend must not build or export a model')

    for step in ('resolve_weights', 'chainer_model', 'onnx_export'):
        monkeypatch.setattr(artefacts, step, forbidden)
    cache_dir = str(tmp_path / 'cache')
    with create_backend('null', 'vgg16', cache_dir=cache_dir) as backend:
        out = backend.infer(numpy.zeros((1, 3, 224, 224), numpy.float32))
        assert out.shape == (1, 1000) and out.dtype == numpy.float32
        assert int(numpy.argmax(out)) == 0
        assert backend.last_inference_ms is not None and backend.last_inference_ms < 50
        assert backend.infer(numpy.zeros((3, 3, 224, 224), numpy.float32)).shape == (3, 1000)
        assert backend.describe()['backend'] == 'null'
        assert backend.weights_identity == 'none'
    assert not os.path.exists(cache_dir)  # nothing cached, nothing written


def test_unknown_backend_lists_the_known_ones():
    with pytest.raises(ClassifierError) as info:
        create_backend('tflite', 'squeezenet1_1')
    text = str(info.value)
    assert "'tflite'" in text
    for name in backend_names():
        assert name in text
    assert set(backend_names()) >= {'chainer', 'onnxruntime', 'tensorrt', 'null'}


# -- agreement.py itself ----------------------------------------------------------------------

def test_relative_l2_values():
    ref = numpy.array([[3.0, 4.0]])
    assert agreement.relative_l2(ref, ref) == 0.0
    assert agreement.relative_l2(numpy.array([[3.0, 4.5]]), ref) == pytest.approx(0.1)
    assert agreement.relative_l2(numpy.zeros(3), numpy.zeros(3)) == 0.0
    assert agreement.relative_l2(numpy.ones(3), numpy.zeros(3)) == float('inf')
    # float16/float32 inputs are compared in float64.
    assert agreement.relative_l2(numpy.float16([1, 2]), numpy.float32([1, 2])) == 0.0
    with pytest.raises(ValueError) as info:
        agreement.relative_l2(numpy.zeros((1, 10)), numpy.zeros((1, 1000)))
    assert '(1, 10)' in str(info.value) and '(1, 1000)' in str(info.value)


def test_compare_backends_with_callables():
    rng = numpy.random.RandomState(0)
    weight = rng.standard_normal((12, 5))
    batches = [rng.standard_normal((2, 3, 2, 2)).astype(numpy.float32) for _ in range(3)]

    def reference(batch):
        return batch.reshape(len(batch), -1) @ weight

    def candidate(batch):
        out = reference(batch)
        out[0] = -out[0]  # the first row of every batch disagrees
        return out

    same = agreement.compare_backends(reference, reference, batches)
    assert same['relative_l2'] == [0.0, 0.0, 0.0] and same['max_relative_l2'] == 0.0
    assert same['top1_agree'] == same['rows'] == 6 and same['top1_share'] == 1.0
    diff = agreement.compare_backends(reference, candidate, batches)
    assert len(diff['relative_l2']) == 3 and diff['max_relative_l2'] == max(diff['relative_l2'])
    assert diff['max_relative_l2'] > 0.5
    assert diff['rows'] == 6 and diff['top1_agree'] == 3
    assert diff['top1_share'] == diff['top1_agree'] / 6.0
    empty = agreement.compare_backends(reference, candidate, [])
    assert empty['relative_l2'] == [] and empty['rows'] == 0
    assert numpy.isnan(empty['max_relative_l2']) and numpy.isnan(empty['top1_share'])


def test_tolerances():
    assert agreement.TOLERANCES['fp32'] == 1e-4
    assert agreement.TOLERANCES['tensorrt_fp32'] == 1e-3
    assert agreement.TOLERANCES['fp16'] is None and 'top-1' in agreement.FP16_CRITERION
