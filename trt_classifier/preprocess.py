# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""RGB frame -> normalised float32 NCHW batch, and logits -> top-k labels."""

import functools
import math
import os

import cv2
import numpy

from trt_classifier.errors import ClassifierError
from trt_classifier.safe_files import read_small_text_file
from trt_classifier.schema import CHANNEL_ORDERS, mean_std_problem, RESIZE_POLICIES

MAX_LABELS_BYTES = 1 << 20  # ImageNet's 1,000 names take 10 KB
# center_crop: shorter side to size*256/224 (256 for 224), then the central size x size.
CROP_RATIO = 256.0 / 224.0


def resize_rgb(rgb, size, policy):
    """Resize an (H, W, 3) uint8 image to (size, size, 3) by ``policy``.

    center_crop resizes only the part of the image the crop needs where that gives the same
    pixels as resizing all of it (see :func:`crop_window`). An image that already has the
    target size is returned as is (a view for the crop).
    """
    height, width = rgb.shape[:2]
    if policy == 'stretch':
        if (height, width) == (size, size):
            return rgb
        return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_LINEAR)
    if policy != 'center_crop':
        raise ClassifierError('resize must be one of %s, not %r' % (
            ', '.join(RESIZE_POLICIES), policy))
    y0, y1, out_h, top, x0, x1, out_w, left = crop_geometry(height, width, size)
    image = rgb[y0:y1, x0:x1]
    if (out_h, out_w) != image.shape[:2]:
        # INTER_LINEAR everywhere: the GPU path (gpu_preprocess.py) computes exactly this.
        image = cv2.resize(image, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
    return image[top:top + size, left:left + size]


@functools.lru_cache(maxsize=64)  # one entry per camera resolution and input size
def crop_geometry(height, width, size):
    """Return both axes' :func:`crop_window` (rows, then columns) of a center_crop.

    center_crop: the shorter side to ``size * CROP_RATIO``, then the central size x size.
    """
    short = int(round(size * CROP_RATIO))
    if height <= width:
        new_h, new_w = short, max(short, int(round(width * short / float(height))))
    else:
        new_h, new_w = max(short, int(round(height * short / float(width)))), short
    if (new_h, new_w) == (height, width):  # no resize: just the crop
        return (0, height, height, (height - size) // 2, 0, width, width, (width - size) // 2)
    return crop_window(height, new_h, size) + crop_window(width, new_w, size)


def crop_window(src, new, size):
    """One axis of center_crop: ``(start, stop, out, offset)``.

    Resizing source pixels ``start:stop`` to ``out`` pixels and keeping ``offset:offset+size``
    gives the same pixels, bit for bit, as resizing all ``src`` pixels to ``new`` and keeping
    the central ``size`` (offset ``(new - size) // 2``), with less work. OpenCV's INTER_LINEAR
    maps output pixel d to source coordinate ``(d + 0.5) * src/new - 0.5`` (in double, then
    float32) and interpolates the two pixels around it with weights from its fraction. Where
    ``src/new`` is a fraction a/b with b a power of two (224 -> 256 is 7/8, 480 -> 256 is
    15/8) every coordinate is exact, so starting m*b output pixels later means starting m*a
    source pixels later with the same weights; the window keeps both pixels of every kept
    output inside it, so OpenCV's border clamping never applies where it did not before. Any
    other ratio (640 -> 341) resizes the whole axis. Tested against the full resize.
    """
    offset = (new - size) // 2
    whole = (0, src, new, offset)
    divisor = math.gcd(src, new)
    a, b = src // divisor, new // divisor  # source / output pixels per step
    if b & (b - 1) or 1.0 / (float(new) / src) != float(a) / b or (src + 1) * 2 * b >= 1 << 24:
        return whole  # not exactly representable as OpenCV computes it

    def first_source_pixel(d):  # of output pixel d of a window (left of the two interpolated)
        return int(math.floor((d + 0.5) * a / b - 0.5))

    steps = offset // b
    while steps and first_source_pixel(offset - steps * b) < 0:
        steps -= 1
    start, skip = steps * a, offset - steps * b
    need = first_source_pixel(skip + size - 1) + 2  # source pixels the last kept one reads
    out = -(-(skip + size) // b) * b
    while out * a // b < need:
        out += b
    if start + out * a // b >= src:  # to the end: clamps exactly as the full resize does
        return start, src, new - steps * b, skip
    return start, start + out * a // b, out, skip


def normalisation(resize, mean, std, channel_order):
    """Validate the arguments; return float32 ``(scale, offset)`` per output channel.

    mean/std are in the model's channel order and ``(x/255 - mean)/std == x*scale + offset``.
    Shared with the GPU preprocessor so both compute the same thing.
    """
    problem = mean_std_problem(mean, std)
    if problem:
        raise ClassifierError(problem)
    if resize not in RESIZE_POLICIES:
        raise ClassifierError('resize must be one of %s, not %r' % (
            ', '.join(RESIZE_POLICIES), resize))
    if channel_order not in CHANNEL_ORDERS:
        raise ClassifierError('channel_order must be one of %s, not %r' % (
            ', '.join(CHANNEL_ORDERS), channel_order))
    std = numpy.asarray(std, dtype=numpy.float32)
    mean = numpy.asarray(mean, dtype=numpy.float32)
    return (1.0 / (255.0 * std)).astype(numpy.float32), (-mean / std).astype(numpy.float32)


class Preprocessor(object):
    """Turn RGB uint8 frames into the model's input: resize, channel order, (x/255 - mean)/std.

    The resized image is split into contiguous uint8 planes; each plane is converted to float32
    straight into its channel of the NCHW batch, then one in-place multiply and one in-place add
    over the whole batch compute ``float32(x) * scale + offset`` per channel (the arithmetic of
    the per-pixel formula, hence the same bits; tested). That replaced a float conversion over a
    channel-last-strided transpose (1.2-1.5 ms per frame) and then per-channel 256-entry tables
    (``cv2.LUT``: a scalar gather, 0.13 ms for three 224x224 planes; the conversion and the two
    vectorised passes take 0.08 ms).
    """

    def __init__(self, size=224, resize='center_crop', mean=(0.485, 0.456, 0.406),
                 std=(0.229, 0.224, 0.225), channel_order='rgb'):
        self.size, self.resize, self.channel_order = int(size), resize, channel_order
        scale, offset = normalisation(resize, mean, std, channel_order)
        self.scale = scale.reshape(3, 1, 1)
        self.offset = offset.reshape(3, 1, 1)
        # the RGB plane that feeds each of the model's channels
        self.planes = (2, 1, 0) if channel_order == 'bgr' else (0, 1, 2)

    @classmethod
    def for_model(cls, spec, resize=None, mean=None, std=None, size=None):
        return cls(size or spec.input_size, resize or spec.resize, mean or spec.mean,
                   std or spec.std, spec.channel_order)

    def __call__(self, rgb):
        """(H, W, 3) uint8 RGB -> (1, 3, S, S) float32 (a new array: callers may keep it)."""
        image = resize_rgb(rgb, self.size, self.resize)
        planes = cv2.split(image)
        batch = numpy.empty((1, 3) + image.shape[:2], dtype=numpy.float32)
        chw = batch[0]
        for channel, plane in enumerate(self.planes):
            numpy.copyto(chw[channel], planes[plane])  # uint8 -> float32 is exact
        numpy.multiply(chw, self.scale, out=chw)
        numpy.add(chw, self.offset, out=chw)
        return batch


def softmax(logits):
    z = logits - logits.max(axis=-1, keepdims=True)
    e = numpy.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def top_k(logits, k, probabilities=False):
    """Return [(index, probability), ...] for the first row of ``logits``, best first.

    Ranked on the logits (softmax keeps their order; float32 -> float64 is exact, so ranking the
    row as it comes gives the float64 order); softmax is computed once, in float64, and only its
    k values are divided out. ``probabilities``: the model already applied softmax (its output
    is used as is).
    """
    row = numpy.asarray(logits)[0]
    size = row.size
    k = max(1, min(int(k), size))
    idx = row.argpartition(size - k)[size - k:]  # methods: no fromnumeric wrapper per call
    idx = idx[(-row[idx]).argsort()]
    row = row.astype(numpy.float64)
    if probabilities:
        return list(zip(idx.tolist(), row[idx].tolist()))
    exp = numpy.exp(row - row[idx[0]])
    return list(zip(idx.tolist(), (exp[idx] / exp.sum()).tolist()))


def default_labels_path():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data',
                        'imagenet_classes.txt')


def load_labels(path=None):
    """Class names, one per line ('#' lines are comments); raise naming the file on failure.

    The path may come from anyone on the ROS graph (a runtime parameter change): only a regular
    UTF-8 file of at most MAX_LABELS_BYTES with lines of at most MAX_LINE_CHARS is read.
    """
    path = path or default_labels_path()
    text = read_small_text_file(path, 'labels file', MAX_LABELS_BYTES)
    names = [line for line in text.splitlines() if not line.startswith('#')]
    names = [n for n in names if n.strip()]
    if not names:
        raise ClassifierError('labels file %s has no class names' % path)
    return names


def label_of(labels, index):
    return labels[index] if 0 <= index < len(labels) else 'class_%d' % index
