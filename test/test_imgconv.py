# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""sensor_msgs/Image -> RGB: every encoding, padding, endianness, sizes and every rejection."""

import array

import cv2
from hypothesis import event, given, HealthCheck, settings
from hypothesis import strategies as st
import numpy
import pytest
from sensor_msgs.msg import Image

from trt_classifier.errors import ClassifierError
from trt_classifier.imgconv import (
    check_publish_encoding, image_msg_to_rgb, ImageError, rgb_to_image_msg, SUPPORTED_ENCODINGS)
from trt_classifier.preprocess import Preprocessor

cv_bridge = pytest.importorskip('cv_bridge')

BAYER_OFFSETS = {  # colour at (row, col) of the first 2x2 cell
    'rggb': ('R', 'G', 'G', 'B'),
    'bggr': ('B', 'G', 'G', 'R'),
    'gbrg': ('G', 'B', 'R', 'G'),
    'grbg': ('G', 'R', 'B', 'G'),
}
CHANNEL = {'R': 0, 'G': 1, 'B': 2}


def known_rgb(height=6, width=8, seed=0):
    return numpy.random.RandomState(seed).randint(0, 256, (height, width, 3)).astype(numpy.uint8)


def gray_rgb(rgb):
    return cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)


def make_msg(encoding, pixels, is_bigendian=0, pad=0, fill=0xAB):
    """Return an Image whose rows are ``pixels``' bytes plus ``pad`` filler bytes each."""
    pixels = numpy.ascontiguousarray(pixels)
    height, width = pixels.shape[:2]
    rows = pixels.reshape(height, -1).view(numpy.uint8)
    if pad:
        filler = numpy.full((height, pad), fill, dtype=numpy.uint8)
        rows = numpy.concatenate([rows, filler], axis=1)
    msg = Image()
    msg.height, msg.width = height, width
    msg.encoding = encoding
    msg.is_bigendian = is_bigendian
    msg.step = rows.shape[1]
    msg.data = array.array('B', rows.tobytes())
    return msg


def raw_msg(encoding, height, width, step, nbytes, is_bigendian=0):
    msg = Image()
    msg.height, msg.width, msg.step = height, width, step
    msg.encoding = encoding
    msg.is_bigendian = is_bigendian
    msg.data = array.array('B', bytes(bytearray(i % 251 for i in range(nbytes))))
    return msg


def eight_bit(encoding, rgb):
    """Return ``rgb`` in ``encoding``'s layout, and the RGB a correct decoder gives."""
    if encoding == 'rgb8':
        return rgb, rgb
    if encoding == 'bgr8':
        return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), rgb
    if encoding == 'rgba8':
        rgba = cv2.cvtColor(rgb, cv2.COLOR_RGB2RGBA)
        rgba[..., 3] = 17  # alpha must be ignored
        return rgba, rgb
    if encoding == 'bgra8':
        bgra = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGRA)
        bgra[..., 3] = 200
        return bgra, rgb
    assert encoding == 'mono8'
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), gray_rgb(rgb)


def sixteen_bit(encoding, rgb, big):
    """16-bit pixels (value*257, so the 8-bit result is exact) in the requested byte order."""
    base = {'rgb16': 'rgb8', 'bgr16': 'bgr8', 'rgba16': 'rgba8', 'bgra16': 'bgra8',
            'mono16': 'mono8'}[encoding]
    pixels8, expected = eight_bit(base, rgb)
    pixels16 = pixels8.astype(numpy.uint16) * 257
    pixels16 = pixels16.astype('>u2' if big else '<u2')
    return pixels16, expected


EIGHT_BIT = ('rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8')
SIXTEEN_BIT = ('rgb16', 'bgr16', 'rgba16', 'bgra16', 'mono16')
YUV = {'yuv422': cv2.COLOR_YUV2RGB_UYVY, 'uyvy': cv2.COLOR_YUV2RGB_UYVY,
       'yuv422_yuy2': cv2.COLOR_YUV2RGB_YUY2, 'yuyv': cv2.COLOR_YUV2RGB_YUY2}
BAYER = tuple(e for e in SUPPORTED_ENCODINGS if e.startswith('bayer_'))


# -- decoding -------------------------------------------------------------------------------------

@pytest.mark.parametrize('encoding', EIGHT_BIT)
def test_eight_bit_gives_the_rgb_pixels(encoding):
    rgb = known_rgb()
    pixels, expected = eight_bit(encoding, rgb)
    out = image_msg_to_rgb(make_msg(encoding, pixels))
    assert out.dtype == numpy.uint8 and out.shape == rgb.shape
    numpy.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize('encoding', EIGHT_BIT)
def test_eight_bit_matches_cv_bridge(encoding):
    rgb = known_rgb(7, 9, seed=3)
    pixels, _expected = eight_bit(encoding, rgb)
    msg = make_msg(encoding, pixels)
    bridged = cv_bridge.CvBridge().imgmsg_to_cv2(msg, desired_encoding='rgb8')
    numpy.testing.assert_array_equal(image_msg_to_rgb(msg), bridged)


@pytest.mark.parametrize('encoding', SIXTEEN_BIT)
@pytest.mark.parametrize('big', [False, True], ids=['little', 'big'])
def test_sixteen_bit_both_byte_orders(encoding, big):
    rgb = known_rgb(5, 6, seed=1)
    pixels, expected = sixteen_bit(encoding, rgb, big)
    out = image_msg_to_rgb(make_msg(encoding, pixels, is_bigendian=int(big)))
    numpy.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize('encoding', SIXTEEN_BIT)
def test_sixteen_bit_big_endian_is_the_byte_swap_of_little(encoding):
    values = numpy.random.RandomState(2).randint(0, 65536, (4, 6, 1 if 'mono' in encoding else (
        4 if 'a16' in encoding else 3))).astype('<u2')
    little = make_msg(encoding, values)
    big = make_msg(encoding, values.astype('>u2'), is_bigendian=1)
    assert bytes(little.data) != bytes(big.data)
    numpy.testing.assert_array_equal(image_msg_to_rgb(little), image_msg_to_rgb(big))
    # Full range onto 0..255: 0 -> 0, 65535 -> 255.
    extremes = numpy.zeros_like(values)
    extremes[0] = 65535
    out = image_msg_to_rgb(make_msg(encoding, extremes))
    assert (out[0] == 255).all() and (out[1:] == 0).all()


def test_sixteen_bit_scales_to_eight_bit_as_ros_cv_bridge_does():
    """ROS cv_bridge: ``convertTo(CV_8U, 255. / 65535.)``, which rounds to nearest."""
    values = numpy.arange(65536, dtype='<u2').reshape(256, 256)
    out = image_msg_to_rgb(make_msg('mono16', values))[..., 0]
    expected = cv2.convertScaleAbs(values.astype(numpy.float64), alpha=255.0 / 65535.0)
    numpy.testing.assert_array_equal(out, expected)
    assert out[0, 129] == 1 and out[255, 254] == 255  # 129 -> 0.502, 65534 -> 254.996


def uyvy_buffer(height=4, width=8, seed=4):
    """Return a known UYVY buffer, and the same Y/U/V samples as YUYV bytes."""
    rng = numpy.random.RandomState(seed)
    y = rng.randint(16, 236, (height, width)).astype(numpy.uint8)
    u = rng.randint(16, 241, (height, width // 2)).astype(numpy.uint8)
    v = rng.randint(16, 241, (height, width // 2)).astype(numpy.uint8)
    uyvy = numpy.empty((height, width, 2), numpy.uint8)
    uyvy[:, 0::2, 0], uyvy[:, 1::2, 0] = u, v
    uyvy[:, :, 1] = y
    yuyv = numpy.empty((height, width, 2), numpy.uint8)
    yuyv[:, :, 0] = y
    yuyv[:, 0::2, 1], yuyv[:, 1::2, 1] = u, v
    return uyvy, yuyv


@pytest.mark.parametrize('encoding', sorted(YUV))
def test_yuv422_matches_cvtcolor(encoding):
    uyvy, yuyv = uyvy_buffer()
    buf = uyvy if YUV[encoding] == cv2.COLOR_YUV2RGB_UYVY else yuyv
    out = image_msg_to_rgb(make_msg(encoding, buf))
    assert out.shape == (4, 8, 3)
    numpy.testing.assert_array_equal(out, cv2.cvtColor(buf, YUV[encoding]))


def test_uyvy_and_yuyv_orders_decode_the_same_samples_alike():
    uyvy, yuyv = uyvy_buffer(6, 10, seed=5)
    a = image_msg_to_rgb(make_msg('uyvy', uyvy))
    b = image_msg_to_rgb(make_msg('yuyv', yuyv))
    numpy.testing.assert_array_equal(a, b)
    # Grey (U = V = 128) decodes to grey.
    grey = numpy.full((2, 4, 2), 128, numpy.uint8)
    out = image_msg_to_rgb(make_msg('yuv422', grey)).astype(int)
    assert (abs(out - out[..., :1]) <= 1).all()


def mosaic(rgb_colour, pattern, height=8, width=10, depth=1):
    """Return a uniform ``rgb_colour`` scene as a ``pattern`` Bayer sensor sees it."""
    raw = numpy.zeros((height, width), numpy.uint16 if depth == 2 else numpy.uint8)
    scale = 257 if depth == 2 else 1
    for k, colour in enumerate(BAYER_OFFSETS[pattern]):
        r, c = divmod(k, 2)
        raw[r::2, c::2] = rgb_colour[CHANNEL[colour]] * scale
    return raw


@pytest.mark.parametrize('encoding', BAYER)
@pytest.mark.parametrize('colour', ['R', 'G', 'B'])
def test_bayer_uniform_scene_keeps_its_colour(encoding, colour):
    pattern = encoding[len('bayer_'):-2 if encoding.endswith('16') else -1]
    depth = 2 if encoding.endswith('16') else 1
    scene = [20, 20, 20]
    scene[CHANNEL[colour]] = 220
    out = image_msg_to_rgb(make_msg(encoding, mosaic(scene, pattern, depth=depth)))
    assert out.shape == (8, 10, 3)
    inner = out[2:-2, 2:-2].reshape(-1, 3).astype(int)
    dominant = CHANNEL[colour]
    others = [c for c in range(3) if c != dominant]
    # Mostly that colour: the dominant channel is high and clearly above the others.
    assert numpy.median(inner[:, dominant]) > 180, (encoding, colour, inner[:4])
    for c in others:
        assert numpy.median(inner[:, c]) < 60, (encoding, colour, inner[:4])


@pytest.mark.parametrize('encoding', SUPPORTED_ENCODINGS)
def test_row_padding_gives_the_same_pixels(encoding):
    rng = numpy.random.RandomState(6)
    channels = {'mono': 1, 'baye': 1, 'yuv4': 2, 'uyvy': 2, 'yuyv': 2}.get(encoding[:4])
    if channels is None:
        channels = 4 if 'a8' in encoding or 'a16' in encoding else 3
    depth = numpy.uint16 if encoding.endswith('16') else numpy.uint8
    shape = (5, 6) if channels == 1 else (5, 6, channels)
    pixels = rng.randint(0, numpy.iinfo(depth).max + 1, shape).astype(depth)
    plain = image_msg_to_rgb(make_msg(encoding, pixels))
    for pad in (1, 3, 64):
        padded = make_msg(encoding, pixels, pad=pad)
        assert padded.step > padded.width * channels * pixels.itemsize
        numpy.testing.assert_array_equal(image_msg_to_rgb(padded), plain)


def test_one_by_one_frame():
    out = image_msg_to_rgb(make_msg('bgr8', numpy.array([[[3, 2, 1]]], numpy.uint8)))
    numpy.testing.assert_array_equal(out, [[[1, 2, 3]]])
    batch = Preprocessor()(out)
    assert batch.shape == (1, 3, 224, 224) and batch.dtype == numpy.float32


def test_large_4000x3000_frame():
    rgb = numpy.empty((3000, 4000, 3), numpy.uint8)
    rgb[..., 0] = numpy.arange(4000, dtype=numpy.uint32) % 256
    rgb[..., 1] = (numpy.arange(3000, dtype=numpy.uint32) % 256)[:, None]
    rgb[..., 2] = 77
    out = image_msg_to_rgb(make_msg('bgr8', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)))
    assert out.shape == (3000, 4000, 3)
    numpy.testing.assert_array_equal(out, rgb)
    batch = Preprocessor()(out)
    assert batch.shape == (1, 3, 224, 224) and batch.dtype == numpy.float32


# -- rejections -----------------------------------------------------------------------------------

def rejection(msg):
    with pytest.raises(ImageError) as info:
        image_msg_to_rgb(msg)
    assert isinstance(info.value, ClassifierError) and isinstance(info.value, ValueError)
    return str(info.value)


@pytest.mark.parametrize('encoding', ['8UC3', '32FC1', 'jpeg', '', 'RGB8'])
def test_unknown_encoding_is_named(encoding):
    text = rejection(raw_msg(encoding, 2, 2, 6, 12))
    assert 'encoding %r' % encoding in text and 'not supported' in text
    assert 'rgb8' in text and 'bayer_rggb8' in text  # the supported list
    if encoding == '8UC3':
        assert 'bare OpenCV type' in text and 'bgr8' in text
    else:
        assert 'bare OpenCV type' not in text


def test_step_too_small_is_named():
    text = rejection(raw_msg('rgb8', 4, 5, 14, 56))
    assert 'step' in text and '= 14' in text and '15' in text


def test_sixteen_bit_step_counts_bytes():
    text = rejection(raw_msg('mono16', 2, 5, 5, 10))  # needs 10 bytes a row
    assert 'step' in text and '10' in text


@pytest.mark.parametrize('nbytes', [0, 59, 61, 120])
def test_data_length_must_be_step_times_height(nbytes):
    text = rejection(raw_msg('rgb8', 4, 5, 15, nbytes))
    assert 'data' in text and 'has %d bytes' % nbytes in text and '60' in text


@pytest.mark.parametrize('height,width', [(0, 5), (5, 0), (0, 0)])
def test_zero_height_or_width(height, width):
    text = rejection(raw_msg('rgb8', height, width, width * 3, height * width * 3))
    assert 'height/width' in text and 'positive' in text


@pytest.mark.parametrize('encoding', sorted(YUV))
def test_odd_width_for_yuv422(encoding):
    text = rejection(raw_msg(encoding, 2, 3, 6, 12))
    assert 'width' in text and '= 3' in text and 'even' in text and encoding in text


# -- property: any Image either classifies or raises ImageError -----------------------------------

OTHER_ENCODINGS = ['8UC1', '8UC3', '8UC4', '16UC1', '32FC1', 'jpeg', '', 'RGB8', 'bayer_rggb',
                   'nv21', 'yuv420']


def bytes_per_pixel(encoding):
    """Return what a correct publisher would use (None for an unsupported encoding)."""
    if encoding not in SUPPORTED_ENCODINGS:
        return None
    channels = 1 if encoding.startswith(('mono', 'bayer_')) else 2 if encoding in YUV else (
        4 if encoding[3] == 'a' else 3)
    return channels * (2 if encoding.endswith('16') else 1)


@st.composite
def image_fields(draw):
    encoding = draw(st.sampled_from(list(SUPPORTED_ENCODINGS) + OTHER_ENCODINGS))
    height = draw(st.integers(0, 64))
    width = draw(st.integers(0, 64))
    bpp = bytes_per_pixel(encoding) or 3
    row = width * draw(st.one_of(st.just(bpp), st.sampled_from([1, 2, 3, 4, 6, 8])))
    step = draw(st.one_of(st.just(row), st.integers(row, row + 16), st.integers(0, 600)))
    nbytes = draw(st.one_of(st.just(step * height), st.integers(0, 64 * 600)))
    is_bigendian = draw(st.integers(0, 1))
    return encoding, height, width, step, nbytes, is_bigendian


PREPROCESS = Preprocessor()


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(image_fields())
def test_any_image_classifies_or_raises_image_error(fields):
    msg = raw_msg(*fields)
    try:
        batch = PREPROCESS(image_msg_to_rgb(msg))
    except ImageError:
        event('rejected')
        return
    event('classified')
    assert batch.shape == (1, 3, 224, 224) and batch.dtype == numpy.float32
    assert numpy.isfinite(batch).all()


# -- publishing -----------------------------------------------------------------------------------

@pytest.mark.parametrize('encoding', EIGHT_BIT)
def test_rgb_to_image_msg_round_trip(encoding):
    from builtin_interfaces.msg import Time
    rgb = known_rgb(9, 7, seed=8)
    msg = rgb_to_image_msg(rgb, encoding, stamp=Time(sec=5, nanosec=6), frame_id='cam')
    assert isinstance(msg, Image) and isinstance(msg.data, array.array)
    assert (msg.height, msg.width, msg.encoding, msg.is_bigendian) == (9, 7, encoding, 0)
    assert msg.step * msg.height == len(msg.data)
    assert (msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id) == (5, 6, 'cam')
    expected = gray_rgb(rgb) if encoding == 'mono8' else rgb
    numpy.testing.assert_array_equal(image_msg_to_rgb(msg), expected)
    bridged = cv_bridge.CvBridge().imgmsg_to_cv2(msg, desired_encoding='rgb8')
    numpy.testing.assert_array_equal(bridged, expected)


@pytest.mark.parametrize('encoding', ['yuv422', 'rgb16', '8UC3'])
def test_unpublishable_encoding_is_refused(encoding):
    with pytest.raises(ClassifierError) as info:
        check_publish_encoding(encoding)
    assert repr(encoding) in str(info.value) and 'bgr8' in str(info.value)
    with pytest.raises(ClassifierError):
        rgb_to_image_msg(known_rgb(), encoding)
