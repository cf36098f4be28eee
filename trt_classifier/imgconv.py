# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""``sensor_msgs/Image`` <-> NumPy RGB, validated field by field.

Decoding gives the same pixels as ROS cv_bridge's ``imgmsg_to_cv2(msg, desired_encoding='rgb8')``
for the encodings both support (the tests compare with cv_bridge), and also honours ``step`` row
padding, ``is_bigendian`` and the YUV/Bayer/16-bit encodings that the PyPI ``cv-bridge``
mishandles.
Every rejection raises :class:`ImageError` naming the field and the value at fault.
"""

import array

import cv2
import numpy

from trt_classifier.errors import ClassifierError

# encoding -> (channels, bytes per channel, how to get RGB)
_ENCODINGS = {
    'rgb8': (3, 1, None),
    'bgr8': (3, 1, cv2.COLOR_BGR2RGB),
    'rgba8': (4, 1, cv2.COLOR_RGBA2RGB),
    'bgra8': (4, 1, cv2.COLOR_BGRA2RGB),
    'mono8': (1, 1, cv2.COLOR_GRAY2RGB),
    'rgb16': (3, 2, None),
    'bgr16': (3, 2, cv2.COLOR_BGR2RGB),
    'rgba16': (4, 2, cv2.COLOR_RGBA2RGB),
    'bgra16': (4, 2, cv2.COLOR_BGRA2RGB),
    'mono16': (1, 2, cv2.COLOR_GRAY2RGB),
    'yuv422': (2, 1, cv2.COLOR_YUV2RGB_UYVY),
    'uyvy': (2, 1, cv2.COLOR_YUV2RGB_UYVY),
    'yuv422_yuy2': (2, 1, cv2.COLOR_YUV2RGB_YUY2),
    'yuyv': (2, 1, cv2.COLOR_YUV2RGB_YUY2),
    # ROS names the first 2x2 cell; OpenCV names the second row's pair (as ROS cv_bridge maps it).
    'bayer_rggb8': (1, 1, cv2.COLOR_BayerBG2RGB),
    'bayer_bggr8': (1, 1, cv2.COLOR_BayerRG2RGB),
    'bayer_gbrg8': (1, 1, cv2.COLOR_BayerGR2RGB),
    'bayer_grbg8': (1, 1, cv2.COLOR_BayerGB2RGB),
    'bayer_rggb16': (1, 2, cv2.COLOR_BayerBG2RGB),
    'bayer_bggr16': (1, 2, cv2.COLOR_BayerRG2RGB),
    'bayer_gbrg16': (1, 2, cv2.COLOR_BayerGR2RGB),
    'bayer_grbg16': (1, 2, cv2.COLOR_BayerGB2RGB),
}
SUPPORTED_ENCODINGS = tuple(sorted(_ENCODINGS))
MAX_PIXELS = 8192 * 8192
MAX_ASPECT = 16


class ImageError(ClassifierError, ValueError):
    """A frame that cannot be classified; the message names the field and value."""


def _field_error(msg, field, problem):
    return ImageError('rejected %dx%d %r frame: %s %s' % (
        msg.width, msg.height, msg.encoding, field, problem))


def image_msg_to_rgb(msg):
    """Return an ``(H, W, 3)`` uint8 RGB array for a ``sensor_msgs/Image``; raise ImageError."""
    encoding = msg.encoding
    if encoding not in _ENCODINGS:
        hint = ''
        if encoding.upper() in ('8UC3', '8UC4', '8UC1'):
            hint = ' (a bare OpenCV type carries no channel order; publish bgr8/rgb8/mono8)'
        raise ImageError('rejected frame: encoding %r is not supported%s; supported: %s' % (
            encoding, hint, ', '.join(SUPPORTED_ENCODINGS)))
    channels, depth, conversion = _ENCODINGS[encoding]
    height, width, step = msg.height, msg.width, msg.step
    if height <= 0 or width <= 0:
        raise _field_error(msg, 'height/width', 'must be positive')
    if height * width > MAX_PIXELS:
        raise _field_error(msg, 'height*width', '= %d exceeds %d pixels' % (
            height * width, MAX_PIXELS))
    if max(height, width) > MAX_ASPECT * min(height, width):
        # no camera sends this; resizing it for a centre crop would take gigabytes
        raise _field_error(msg, 'width/height', 'aspect ratio exceeds %d:1' % MAX_ASPECT)
    if channels == 2 and width % 2:
        raise _field_error(msg, 'width', '= %d must be even for %s' % (width, encoding))
    row_bytes = width * channels * depth
    if step < row_bytes:
        raise _field_error(msg, 'step', '= %d is smaller than width*channels*bytes = %d' % (
            step, row_bytes))
    data = numpy.frombuffer(msg.data, dtype=numpy.uint8)
    if data.size != step * height:
        raise _field_error(msg, 'data', 'has %d bytes but step*height = %d' % (
            data.size, step * height))
    shape = (height, width) if channels == 1 else (height, width, channels)
    if depth == 1 and step == row_bytes:  # no row padding: the buffer is the image
        image = data.reshape(shape)
    else:
        rows = data.reshape(height, step)[:, :row_bytes]
        if depth == 2:
            dtype = numpy.dtype('>u2' if msg.is_bigendian else '<u2')
            pixels = numpy.ascontiguousarray(rows).view(dtype).astype(numpy.uint16)
            # 16 -> 8 bit as cv_bridge scales it: convertTo(CV_8U, 255/65535) rounds to
            # nearest (never an exact half: 65535 is odd).
            pixels = ((pixels.astype(numpy.uint32) * 255 + 32767) // 65535).astype(numpy.uint8)
        else:
            pixels = rows
        image = numpy.ascontiguousarray(pixels.reshape(shape))
    if conversion is None:
        return image
    return cv2.cvtColor(image, conversion)


_FROM_RGB = {'rgb8': None, 'bgr8': cv2.COLOR_RGB2BGR, 'rgba8': cv2.COLOR_RGB2RGBA,
             'bgra8': cv2.COLOR_RGB2BGRA, 'mono8': cv2.COLOR_RGB2GRAY}


def check_publish_encoding(encoding):
    if encoding not in _FROM_RGB:
        raise ClassifierError('cannot publish encoding %r; choose one of %s' % (
            encoding, ', '.join(sorted(_FROM_RGB))))


def rgb_to_image_msg(rgb, encoding='rgb8', stamp=None, frame_id=''):
    """Build a ``sensor_msgs/Image`` from an ``(H, W, 3)`` uint8 RGB array.

    ``encoding`` may be rgb8, bgr8, rgba8, bgra8 or mono8. ``data`` is assigned as
    ``array.array('B', bytes)``: fast on every distro (no per-byte checks; docs/ROS2_COMPAT.md §7).
    """
    from sensor_msgs.msg import Image
    check_publish_encoding(encoding)
    conversion = _FROM_RGB[encoding]
    out = rgb if conversion is None else cv2.cvtColor(rgb, conversion)
    out = numpy.ascontiguousarray(out)
    msg = Image()
    if stamp is not None:
        msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(out.shape[0]), int(out.shape[1])
    msg.encoding = encoding
    msg.is_bigendian = 0
    msg.step = int(out.strides[0])
    msg.data = array.array('B', out.tobytes())
    return msg


COMPRESSED_FORMATS = ('jpeg', 'png')


def compressed_msg_to_rgb(msg):
    """Decode a ``sensor_msgs/CompressedImage`` (JPEG or PNG) to ``(H, W, 3)`` uint8 RGB.

    ``format`` as image_transport's compressed plugin writes it: ``'rgb8; jpeg compressed
    bgr8'`` (original encoding; codec; the channel order inside the file), or just ``'jpeg'``.
    Colour files hold BGR (OpenCV's order) unless the last word says rgb. Raise ImageError
    naming the format, or saying the bytes are not a decodable image.
    """
    fmt = (msg.format or '').strip()
    words = fmt.replace(';', ' ').lower().split()
    if 'compresseddepth' in words:
        raise ImageError('rejected compressed frame: format %r is a compressedDepth image (depth, '
                         'not colour); subscribe to a colour camera topic' % fmt)
    if words and not any(codec in words for codec in COMPRESSED_FORMATS + ('jpg',)):
        raise ImageError('rejected compressed frame: format %r is not JPEG or PNG' % fmt)
    data = numpy.frombuffer(bytes(msg.data), dtype=numpy.uint8)
    if data.size == 0:
        raise ImageError('rejected compressed %r frame: data is empty' % fmt)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)  # 16-bit PNG and grey files come back 8-bit BGR
    if bgr is None or bgr.size == 0:
        raise ImageError('rejected compressed %r frame: %d bytes that OpenCV cannot decode '
                         '(corrupt or truncated)' % (fmt, data.size))
    height, width = bgr.shape[:2]
    if height * width > MAX_PIXELS:
        raise ImageError('rejected compressed %r frame: %dx%d exceeds %d pixels' % (
            fmt, width, height, MAX_PIXELS))
    if words and words[-1].startswith('rgb'):
        return bgr  # the file already holds R, G, B in OpenCV's B, G, R slots
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def rgb_to_compressed_msg(rgb, codec='jpeg', stamp=None, frame_id='', quality=90):
    """Build a ``sensor_msgs/CompressedImage`` as image_transport's compressed plugin does."""
    from sensor_msgs.msg import CompressedImage
    if codec not in COMPRESSED_FORMATS:
        raise ClassifierError('cannot compress as %r; choose one of %s' % (
            codec, ', '.join(COMPRESSED_FORMATS)))
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if codec == 'jpeg' else []
    ok, encoded = cv2.imencode('.jpg' if codec == 'jpeg' else '.png',
                               cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise ClassifierError('OpenCV could not encode a %dx%d frame as %s' % (
            rgb.shape[1], rgb.shape[0], codec))
    msg = CompressedImage()
    if stamp is not None:
        msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.format = 'rgb8; %s compressed bgr8' % codec
    msg.data = array.array('B', encoded.tobytes())
    return msg
