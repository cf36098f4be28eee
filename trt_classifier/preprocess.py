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


def resize_rgb(rgb, size, policy):
    """Resize an (H, W, 3) uint8 image to (size, size, 3) by ``policy``."""
    if policy == 'stretch':
        return cv2.resize(rgb, (size, size), interpolation=cv2.INTER_LINEAR)
    if policy != 'center_crop':
        raise ClassifierError('resize must be one of %s, not %r' % (
            ', '.join(RESIZE_POLICIES), policy))
    height, width = rgb.shape[:2]
    short = int(round(size * CROP_RATIO))
    if height <= width:
        new_h, new_w = short, max(short, int(round(width * short / float(height))))
    else:
        new_h, new_w = max(short, int(round(height * short / float(width)))), short
    # INTER_LINEAR everywhere: the GPU path (gpu_preprocess.py) computes exactly this.
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return resized[top:top + size, left:left + size]


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

    A uint8 pixel has 256 values, so the normalisation is a per-channel table of
    ``float32(v) * scale + offset`` (the same float32 operations, hence the same bits, as
    computing it per pixel): the resized image is split into contiguous planes and each plane
    is looked up straight into its channel of the NCHW batch (``cv2.LUT``). That replaced a
    float conversion over a channel-last-strided transpose: 1.2-1.5 ms -> 0.15 ms per frame.
    """

    def __init__(self, size=224, resize='center_crop', mean=(0.485, 0.456, 0.406),
                 std=(0.229, 0.224, 0.225), channel_order='rgb'):
        self.size, self.resize, self.channel_order = int(size), resize, channel_order
        scale, offset = normalisation(resize, mean, std, channel_order)
        self.scale = scale.reshape(3, 1, 1)
        self.offset = offset.reshape(3, 1, 1)
        values = numpy.arange(256, dtype=numpy.float32)
        self.tables = [values * scale[c] + offset[c] for c in range(3)]
        # the RGB plane that feeds each of the model's channels
        self.planes = (2, 1, 0) if channel_order == 'bgr' else (0, 1, 2)

    @classmethod
    def for_model(cls, spec, resize=None, mean=None, std=None, size=None):
        return cls(size or spec.input_size, resize or spec.resize, mean or spec.mean,
                   std or spec.std, spec.channel_order)

    def __call__(self, rgb):
        """(H, W, 3) uint8 RGB -> (1, 3, S, S) float32."""
        image = resize_rgb(rgb, self.size, self.resize)
        planes = cv2.split(image)
        batch = numpy.empty((1, 3) + image.shape[:2], dtype=numpy.float32)
        for channel, plane in enumerate(self.planes):
            out = batch[0, channel]
            written = cv2.LUT(planes[plane], self.tables[channel], dst=out)
            if not numpy.shares_memory(written, out):  # OpenCV chose its own buffer
                out[...] = written
        return batch


def softmax(logits):
    z = logits - logits.max(axis=-1, keepdims=True)
    e = numpy.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def top_k(logits, k, probabilities=False):
    """Return [(index, probability), ...] for the first row of ``logits``, best first.

    Ranked on the logits (softmax keeps their order); softmax is computed once, in float64.
    ``probabilities``: the model already applied softmax (its output is used as is).
    """
    row = numpy.asarray(logits)[0].astype(numpy.float64)
    k = max(1, min(int(k), row.size))
    idx = numpy.argpartition(row, row.size - k)[row.size - k:]
    idx = idx[numpy.argsort(-row[idx])]
    if probabilities:
        return [(int(i), float(row[i])) for i in idx]
    exp = numpy.exp(row - row[idx[0]])
    total = exp.sum()
    return [(int(i), float(exp[i] / total)) for i in idx]


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
