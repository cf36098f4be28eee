# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Frame sources for image_source and the benchmark: files, folders, videos, cameras, samples."""

import glob
import os

import cv2

from trt_classifier.errors import ClassifierError

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.pgm', '.tif', '.tiff', '.webp')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mkv', '.mov', '.webm', '.mjpeg')


def samples_dir():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'samples')


def sample_paths():
    return sorted(glob.glob(os.path.join(samples_dir(), '*.jpg')))


def read_rgb(path):
    """Decode an image file to (H, W, 3) uint8 RGB; raise naming the file."""
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ClassifierError('cannot decode image file %s (missing, unreadable or not an '
                              'image OpenCV can read)' % path)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def image_paths(source):
    """Expand ``samples``, a folder or an image file to a list of image paths."""
    if source == 'samples':
        return sample_paths()
    if os.path.isdir(source):
        paths = sorted(p for p in glob.glob(os.path.join(source, '*'))
                       if p.lower().endswith(IMAGE_EXTENSIONS))
        if not paths:
            raise ClassifierError('folder %s holds no images (%s)' % (
                source, ', '.join(IMAGE_EXTENSIONS)))
        return paths
    if os.path.isfile(source) and source.lower().endswith(IMAGE_EXTENSIONS):
        return [source]
    raise ClassifierError('source %r is not samples, a folder, an image, a video (%s) or '
                          'camera:N' % (source, ', '.join(VIDEO_EXTENSIONS)))


class FrameSource(object):
    """Iterate RGB frames from ``source``; ``loop`` restarts files, folders and videos.

    ``source``: ``samples`` (the bundled photos), an image file, a folder of images, a video
    file, or ``camera:N`` (OpenCV device N). ``size`` (w, h) resizes every frame when given.
    """

    def __init__(self, source='samples', loop=True, size=None):
        self.source = source
        self.loop = loop
        self.size = tuple(size) if size and size[0] > 0 and size[1] > 0 else None
        self.capture = None
        self.images = None
        if source.startswith('camera:') or source.lower().endswith(VIDEO_EXTENSIONS):
            self.capture = self._open_capture(source)
        else:
            self.images = [self._resize(read_rgb(p)) for p in image_paths(source)]
        self.index = 0

    @staticmethod
    def _open_capture(source):
        target = int(source.split(':', 1)[1]) if source.startswith('camera:') else source
        if isinstance(target, str) and not os.path.isfile(target):
            raise ClassifierError('video file %s does not exist' % target)
        capture = cv2.VideoCapture(target)
        if not capture.isOpened():
            raise ClassifierError('cannot open %s with OpenCV' % source)
        return capture

    def read(self):
        """Return the next RGB frame, or None when a non-looping source is exhausted."""
        if self.images is not None:
            if self.index >= len(self.images):
                if not self.loop:
                    return None
                self.index = 0
            frame = self.images[self.index]
            self.index += 1
            return frame
        else:
            ok, bgr = self.capture.read()
            if not ok and self.loop and not self.source.startswith('camera:'):
                self.capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, bgr = self.capture.read()
            if not ok:
                return None
            return self._resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))

    def _resize(self, frame):
        if self.size:
            return cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        return frame

    def close(self):
        if self.capture is not None:
            self.capture.release()
            self.capture = None
