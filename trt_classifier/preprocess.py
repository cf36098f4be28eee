# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""RGB frame -> normalised float32 NCHW batch, and logits -> top-k labels."""

import os

import cv2
import numpy

from trt_classifier.errors import ClassifierError
from trt_classifier.safe_files import read_small_text_file
from trt_classifier.schema import CHANNEL_ORDERS, mean_std_problem, RESIZE_POLICIES

MAX_LABELS_BYTES = 1 << 20  # ImageNet's 1,000 names take 10 KB
# center_crop: shorter side to size*256/224 (256 for 224), then the central size x size.
CROP_RATIO = 256.0 / 224.0


def source_window(height, width, size, policy):
    """Return the part of a frame that becomes the size x size input: ``(top, left, rows, cols)``.

    A frame that already has the input size is the model's view as it is, whatever the policy
    (sized upstream: the camera's ISP): all of it, no resize. Otherwise 'stretch' takes the
    whole frame and 'center_crop' the square :func:`center_crop_box` keeps. The one rule of
    the CPU (:func:`resize_rgb`) and GPU (gpu_preprocess.py) paths.
    """
    if policy not in RESIZE_POLICIES:
        raise ClassifierError('resize must be one of %s, not %r' % (
            ', '.join(RESIZE_POLICIES), policy))
    if policy == 'stretch' or (height, width) == (size, size):
        return 0, 0, height, width
    top, left, side = center_crop_box(height, width, size)
    return top, left, side, side


def resize_rgb(rgb, size, policy):
    """Resize an (H, W, 3) uint8 image to (size, size, 3) by ``policy``.

    Its :func:`source_window`, resized with INTER_LINEAR where that is not the input size
    already (then the frame itself or a view of it).
    """
    height, width = rgb.shape[:2]
    top, left, rows, cols = source_window(height, width, size, policy)
    if (rows, cols) != (height, width):
        rgb = rgb[top:top + rows, left:left + cols]
    if (rows, cols) == (size, size):
        return rgb
    return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_LINEAR)


def describe_resize(height, width, size, policy):
    """One line on what :func:`resize_rgb` does to a height x width frame (for the log)."""
    if (height, width) == (size, size):
        return 'the model input size: taken as they are, no resize or crop'
    top, left, rows, cols = source_window(height, width, size, policy)
    if policy == 'stretch':
        return 'stretched to %dx%d' % (size, size)
    return 'center crop of %dx%d at x=%d, y=%d, %s' % (
        cols, rows, left, top, 'no resize' if rows == size else 'resized to %dx%d' % (
            size, size))


def center_crop_box(height, width, size):
    """Return the source square center_crop keeps: ``(top, left, side)``.

    The ImageNet convention (shorter side to ``size * CROP_RATIO``, 256 for 224, then the
    central size x size) keeps the central square of ``shorter side * size / short`` source
    pixels (7/8 of it for 224); cropping that square first and resizing it to size x size
    takes the same part of the image for a fraction of the work (a 640x480 frame: 224x224
    pixels computed instead of 341x256). The square is centred to within half a pixel;
    resize-then-crop rounds the crop's offset in the resized image down, so their sample
    positions differ by up to one pixel of the resized image (tested).
    """
    short = int(round(size * CROP_RATIO))
    side = max(1, int(round(min(height, width) * size / float(short))))
    return (height - side) // 2, (width - side) // 2, side


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
