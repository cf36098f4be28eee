# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Preprocessing: exact normalisation, resize geometry, top-k and the labels file."""

import os

import cv2
import numpy
import pytest

from trt_classifier import models
from trt_classifier.errors import ClassifierError
from trt_classifier.preprocess import (
    center_crop_box, CROP_RATIO, default_labels_path, describe_resize, label_of, load_labels,
    Preprocessor, resize_rgb, softmax, top_k)

COLOUR = (10, 128, 250)  # R, G, B


def constant(height, width, colour=COLOUR):
    image = numpy.empty((height, width, 3), numpy.uint8)
    image[...] = colour
    return image


# -- normalisation --------------------------------------------------------------------------------

@pytest.mark.parametrize('resize', ['center_crop', 'stretch'])
@pytest.mark.parametrize('shape', [(224, 224), (480, 640), (37, 5)])
def test_constant_image_rgb_exact_values(resize, shape):
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    batch = Preprocessor(224, resize, mean, std, 'rgb')(constant(*shape))
    assert batch.shape == (1, 3, 224, 224) and batch.dtype == numpy.float32
    for c in range(3):
        expected = (COLOUR[c] / 255.0 - mean[c]) / std[c]
        numpy.testing.assert_allclose(batch[0, c], expected, rtol=1e-6, atol=1e-6)


def test_constant_image_bgr_exact_values():
    # mean/std are in the model's (BGR) order: channel 0 is blue.
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 0.125)
    batch = Preprocessor(32, 'center_crop', mean, std, 'bgr')(constant(40, 50))
    assert batch.shape == (1, 3, 32, 32)
    bgr = COLOUR[::-1]
    for c in range(3):
        expected = (bgr[c] / 255.0 - mean[c]) / std[c]
        numpy.testing.assert_allclose(batch[0, c], expected, rtol=1e-6, atol=1e-6)


def test_for_model_uses_the_caffe_convention_for_vgg16():
    spec = models.get_spec('vgg16')
    pre = Preprocessor.for_model(spec)
    assert (pre.size, pre.resize, pre.channel_order) == (224, 'center_crop', 'bgr')
    batch = pre(constant(300, 400))
    # (v/255 - m/255) / (1/255) == v - m: BGR pixels minus the Caffe mean.
    for c, (value, mean) in enumerate(zip(COLOUR[::-1], (103.939, 116.779, 123.68))):
        numpy.testing.assert_allclose(batch[0, c], value - mean, rtol=1e-5, atol=1e-4)


def test_for_model_overrides():
    spec = models.get_spec('efficientnet_lite0')
    pre = Preprocessor.for_model(spec, resize='stretch', size=96, mean=(0, 0, 0), std=(1, 1, 1))
    batch = pre(constant(10, 20))
    assert batch.shape == (1, 3, 96, 96)
    numpy.testing.assert_allclose(batch[0, :, 0, 0], numpy.array(COLOUR) / 255.0, rtol=1e-6)


@pytest.mark.parametrize('kwargs,words', [
    ({'mean': (0.5, 0.5)}, 'mean and std'),
    ({'std': (1, 0, 1)}, 'std values'),
    ({'resize': 'letterbox'}, 'letterbox'),
    ({'channel_order': 'rgba'}, 'rgba'),
])
def test_invalid_settings_are_named(kwargs, words):
    with pytest.raises(ClassifierError) as info:
        Preprocessor(**kwargs)
    assert words in str(info.value)


def test_resize_rgb_rejects_unknown_policy():
    with pytest.raises(ClassifierError) as info:
        resize_rgb(constant(4, 4), 8, 'fill')
    assert 'fill' in str(info.value) and 'center_crop' in str(info.value)


# -- geometry -------------------------------------------------------------------------------------

def ramp(height, width, axis):
    """uint8 image whose value grows linearly from 0 to 255 along ``axis`` (0 rows, 1 columns)."""
    n = height if axis == 0 else width
    values = numpy.round(numpy.arange(n) * 255.0 / (n - 1)).astype(numpy.uint8)
    line = values[:, None] if axis == 0 else values[None, :]
    return numpy.repeat(numpy.broadcast_to(line, (height, width))[..., None], 3, axis=2).copy()


@pytest.mark.parametrize('height,width', [(480, 640), (640, 480), (300, 1000), (999, 260),
                                          (100, 150)])
def test_center_crop_geometry(height, width):
    """The central square of 224/256 of the shorter side, resized: the ramp says which pixels."""
    side = int(round(min(height, width) * 224 / 256.0))
    for axis, n_src in enumerate([height, width]):
        start = (n_src - side) // 2
        out = resize_rgb(ramp(height, width, axis), 224, 'center_crop')
        assert out.shape == (224, 224, 3)
        profile = out[:, 112, 0] if axis == 0 else out[112, :, 0]
        # OpenCV's INTER_LINEAR: output i samples the square at (i + 0.5) * side / 224 - 0.5
        src = start + numpy.clip((numpy.arange(224) + 0.5) * side / 224.0 - 0.5, 0, side - 1)
        expected = src * 255.0 / (n_src - 1)
        numpy.testing.assert_allclose(profile.astype(float), expected, atol=1.5)
        # The kept span is centred in the source.
        assert abs(src[0] - (n_src - 1 - src[-1])) <= 1


@pytest.mark.parametrize('shape,box', [
    ((480, 640), (30, 110, 420)), ((224, 224), (14, 14, 196)), ((256, 256), (16, 16, 224)),
    ((1080, 1920), (67, 487, 945)), ((5, 37), (0, 16, 4)), ((1, 1), (0, 0, 1))])
def test_center_crop_box(shape, box):
    assert center_crop_box(shape[0], shape[1], 224) == box


def test_describe_resize_says_what_happens_to_a_frame():
    assert describe_resize(224, 224, 224, 'center_crop') == \
        'the model input size: taken as they are, no resize or crop'
    assert describe_resize(480, 640, 224, 'center_crop') == \
        'center crop of 420x420 at x=110, y=30, resized to 224x224'
    assert describe_resize(256, 256, 224, 'center_crop') == \
        'center crop of 224x224 at x=16, y=16, no resize'
    assert describe_resize(480, 640, 224, 'stretch') == 'stretched to 224x224'


def test_center_crop_keeps_the_whole_shorter_side_nearly():
    out = resize_rgb(ramp(480, 640, 0), 224, 'center_crop')
    # 224 of 256 rows are kept: the first and last rows are 16/256 of the way in.
    assert 10 <= out[0, 0, 0] <= 22 and 233 <= out[-1, 0, 0] <= 245


def test_stretch_keeps_everything():
    for axis in (0, 1):
        out = resize_rgb(ramp(300, 700, axis), 224, 'stretch')
        assert out.shape == (224, 224, 3)
        profile = out[:, 5, 0] if axis == 0 else out[5, :, 0]
        assert profile[0] <= 3 and profile[-1] >= 252
        assert (numpy.diff(profile.astype(int)) >= 0).all()


def test_square_input_of_the_crop_size_passes_through():
    image = numpy.random.RandomState(0).randint(0, 256, (256, 256, 3)).astype(numpy.uint8)
    numpy.testing.assert_array_equal(resize_rgb(image, 224, 'center_crop'),
                                     image[16:240, 16:240])


@pytest.mark.parametrize('policy', ['center_crop', 'stretch'])
def test_a_frame_of_the_input_size_is_taken_as_it_is(policy):
    image = numpy.random.RandomState(1).randint(0, 256, (224, 224, 3)).astype(numpy.uint8)
    assert resize_rgb(image, 224, policy) is image
    batch = Preprocessor(224, policy)(image)
    expected = (image.astype(numpy.float32).transpose(2, 0, 1) / 255.0 -
                numpy.array([0.485, 0.456, 0.406], numpy.float32)[:, None, None]) / \
        numpy.array([0.229, 0.224, 0.225], numpy.float32)[:, None, None]
    numpy.testing.assert_allclose(batch[0], expected, rtol=0, atol=1e-5)


def resize_then_crop(rgb, size):
    """center_crop as the ImageNet recipe states it: the whole image resized, then cut."""
    height, width = rgb.shape[:2]
    short = int(round(size * CROP_RATIO))
    if height <= width:
        new_h, new_w = short, max(short, int(round(width * short / float(height))))
    else:
        new_h, new_w = max(short, int(round(height * short / float(width)))), short
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return resized[top:top + size, left:left + size]


@pytest.mark.parametrize('shape', [(480, 640), (640, 480), (720, 1280), (1080, 1920), (300, 301),
                                   (999, 260)])
def test_crop_first_takes_the_part_of_resize_then_crop(shape):
    """Crop-first takes the part of the image that resize-then-crop takes.

    On a float32 image whose value is the source row (column) index, the resized value is
    the source coordinate each output pixel samples: every one lies within one pixel of the
    resized image (shorter side 256) of where resize-then-crop samples it; that one rounds the
    crop's offset in the resized image down and its longer side to whole pixels.
    """
    height, width = shape
    for axis, n_src in enumerate(shape):
        index = numpy.arange(n_src, dtype=numpy.float32)
        line = index[:, None] if axis == 0 else index[None, :]
        image = numpy.repeat(numpy.broadcast_to(line, shape)[..., None], 3, axis=2).copy()
        got = resize_rgb(image, 224, 'center_crop')[..., 0]
        ref = resize_then_crop(image, 224)[..., 0]
        shift = numpy.abs(got - ref)  # in source pixels
        assert shift.max() <= min(shape) / 256.0, (axis, shift.max())


# -- top-k ----------------------------------------------------------------------------------------

def test_top_k_order_and_probabilities():
    logits = numpy.random.RandomState(1).standard_normal((1, 1000)).astype(numpy.float32)
    result = top_k(logits, 5)
    assert len(result) == 5
    indices = [i for i, _p in result]
    assert indices == [int(i) for i in numpy.argsort(-logits[0])[:5]]
    probs = [p for _i, p in result]
    assert probs == sorted(probs, reverse=True)
    expected = softmax(logits[0].astype(numpy.float64))
    numpy.testing.assert_allclose(probs, expected[indices], rtol=1e-9)
    full = top_k(logits, 1000)
    assert abs(sum(p for _i, p in full) - 1.0) < 1e-9
    assert sorted(i for i, _p in full) == list(range(1000))


def test_top_k_clamps_k_and_uses_the_first_row():
    logits = numpy.array([[0.0, 3.0, 1.0], [9.0, 0.0, 0.0]])
    assert [i for i, _p in top_k(logits, 0)] == [1]
    assert [i for i, _p in top_k(logits, 10)] == [1, 2, 0]


def test_top_k_is_stable_for_huge_logits():
    result = top_k(numpy.array([[1000.0, 999.0, -1000.0]]), 3)
    assert [i for i, _p in result] == [0, 1, 2]
    assert all(numpy.isfinite(p) for _i, p in result)
    numpy.testing.assert_allclose(result[0][1], 1.0 / (1.0 + numpy.exp(-1.0)), rtol=1e-9)


# -- labels ---------------------------------------------------------------------------------------

def test_default_labels():
    labels = load_labels()
    assert labels == load_labels(default_labels_path())
    assert len(labels) == 1000
    assert labels[0] == 'tench' and labels[281] == 'tabby' and labels[967] == 'espresso'
    assert not any(name.startswith('#') for name in labels)
    assert label_of(labels, 281) == 'tabby' and label_of(labels, 1000) == 'class_1000'
    assert label_of(labels, -1) == 'class_-1'


def test_labels_comments_and_blank_lines_skipped(tmp_path):
    path = tmp_path / 'labels.txt'
    path.write_text('# header\ncat\n# middle comment\ndog\n\nbird\n')
    assert load_labels(str(path)) == ['cat', 'dog', 'bird']


def test_missing_labels_file_is_named(tmp_path):
    path = os.path.join(str(tmp_path), 'nope', 'labels.txt')
    with pytest.raises(ClassifierError) as info:
        load_labels(path)
    assert path in str(info.value)


def test_empty_labels_file_is_named(tmp_path):
    path = tmp_path / 'empty.txt'
    path.write_text('# only a comment\n\n')
    with pytest.raises(ClassifierError) as info:
        load_labels(str(path))
    assert str(path) in str(info.value) and 'no class names' in str(info.value)


@pytest.mark.parametrize('order', ['rgb', 'bgr'])
@pytest.mark.parametrize('resize,shape', [('center_crop', (224, 224)),
                                          ('center_crop', (480, 640)), ('stretch', (37, 91))])
def test_table_normalisation_gives_the_per_pixel_bits(order, resize, shape):
    """The per-channel tables compute float32(x) * scale + offset: the same bits per pixel."""
    rgb = numpy.random.RandomState(7).randint(0, 256, shape + (3,)).astype(numpy.uint8)
    pre = Preprocessor(160, resize, (0.4, 0.45, 0.5), (0.01, 0.2, 3.0), order)
    batch = pre(rgb)
    chw = resize_rgb(rgb, 160, resize).transpose(2, 0, 1)
    if order == 'bgr':
        chw = chw[::-1]
    expected = (chw.astype(numpy.float32) * pre.scale + pre.offset)[numpy.newaxis]
    assert batch.dtype == numpy.float32 and batch.flags.c_contiguous
    assert batch.shape == expected.shape == (1, 3, 160, 160)
    assert numpy.array_equal(batch, expected)


def test_top_k_ranks_on_the_logits_where_probabilities_underflow():
    logits = numpy.full((1, 1000), -1e4, numpy.float32)
    logits[0, [3, 500, 7]] = [50.0, -900.0, -1000.0]  # p(500), p(7) underflow to 0 in float64
    best = top_k(logits, 3)
    assert [i for i, _p in best] == [3, 500, 7]
    assert best[0][1] == 1.0 and best[1][1] == 0.0
