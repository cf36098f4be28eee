# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Regenerate trt_classifier/data/samples/*.jpg from scikit-image's bundled photos.

The photos and their licences are listed in scikit-image's ``skimage/data/README.txt``
(chelsea and coffee: CC0; astronaut and rocket: NASA, public domain).
"""

import os

import cv2
from skimage import data

OUT = os.path.join(os.path.dirname(__file__), '..', 'trt_classifier', 'data', 'samples')
PHOTOS = ('chelsea', 'coffee', 'astronaut', 'rocket')


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in PHOTOS:
        rgb = getattr(data, name)()
        path = os.path.join(OUT, name + '.jpg')
        cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])


if __name__ == '__main__':
    main()
