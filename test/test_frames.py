# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Frame sources of image_source and the benchmark: samples, files, folders, videos."""

import os
import shutil

import cv2
import numpy
import pytest

from trt_classifier.errors import ClassifierError
from trt_classifier.frames import FrameSource, read_rgb, sample_paths


def test_samples_loop_and_resize():
    source = FrameSource('samples', loop=True, size=(320, 240))
    frames = [source.read() for _ in range(len(sample_paths()) + 1)]
    assert all(f.shape == (240, 320, 3) and f.dtype == numpy.uint8 for f in frames)
    assert frames[0] is frames[-1]  # looped back to the first photo


def test_folder_without_loop_ends(tmp_path):
    for path in sample_paths()[:2]:
        shutil.copy(path, str(tmp_path))
    (tmp_path / 'notes.txt').write_text('not an image')
    source = FrameSource(str(tmp_path), loop=False)
    assert source.read() is not None and source.read() is not None
    assert source.read() is None


def test_video_file(tmp_path):
    path = str(tmp_path / 'clip.avi')
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'MJPG'), 10, (64, 48))
    for value in (0, 128, 255):
        writer.write(numpy.full((48, 64, 3), value, numpy.uint8))
    writer.release()
    source = FrameSource(path, loop=False)
    frames = []
    frame = source.read()
    while frame is not None:
        frames.append(frame)
        frame = source.read()
    source.close()
    assert len(frames) == 3 and frames[0].shape == (48, 64, 3)
    assert frames[2].mean() > frames[0].mean() + 200


@pytest.mark.parametrize('source,message', [
    ('/nonexistent/video.mp4', 'video file /nonexistent/video.mp4 does not exist'),
    ('/nonexistent/dir', "source '/nonexistent/dir' is not samples, a folder"),
])
def test_bad_sources_say_what_is_wrong(source, message):
    with pytest.raises(ClassifierError, match=message):
        FrameSource(source)


def test_undecodable_image_names_the_file(tmp_path):
    bad = tmp_path / 'broken.jpg'
    bad.write_bytes(b'not a jpeg')
    with pytest.raises(ClassifierError, match='cannot decode image file %s' % bad):
        read_rgb(str(bad))


def test_empty_folder(tmp_path):
    with pytest.raises(ClassifierError, match='holds no images'):
        FrameSource(str(tmp_path))
    assert os.path.isdir(str(tmp_path))
