# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Open files named by parameters as untrusted data: regular files of bounded size only.

A parameter can be set by anyone on an open ROS graph, so a path it names may be a FIFO (open
blocks forever), ``/dev/zero`` (reading never ends), a multi-gigabyte file or one line of 10 MB.
:func:`open_regular_file` opens without blocking and checks the opened file itself (no race
between a check and the open); :func:`read_small_text_file` adds a decoding and a line-length
check. Both raise :class:`ClassifierError` with one line naming the file and the problem.
"""

import io
import os
import stat

from trt_classifier.errors import ClassifierError

MAX_LINE_CHARS = 4096


def open_regular_file(path, what, max_bytes):
    """Return a binary file object for ``path`` if it is a regular file of at most max_bytes."""
    path = os.path.expanduser(path)
    flags = os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_NOCTTY', 0)
    try:
        fd = os.open(path, flags)  # O_NONBLOCK: opening a FIFO must not wait for a writer
    except OSError as exc:
        raise ClassifierError('cannot read %s %s: %s' % (what, path, exc.strerror or exc)) \
            from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ClassifierError('%s %s is not a regular file (%s); refusing to read it' % (
                what, path, file_kind(info.st_mode)))
        if info.st_size > max_bytes:
            raise ClassifierError('%s %s has %d bytes, more than the %d accepted' % (
                what, path, info.st_size, max_bytes))
        return io.open(fd, 'rb', closefd=True)
    except BaseException:
        os.close(fd)
        raise


def file_kind(mode):
    for test, name in ((stat.S_ISDIR, 'a directory'), (stat.S_ISFIFO, 'a FIFO'),
                       (stat.S_ISCHR, 'a character device'), (stat.S_ISBLK, 'a block device'),
                       (stat.S_ISSOCK, 'a socket')):
        if test(mode):
            return name
    return 'not a regular file'


def read_small_text_file(path, what, max_bytes, max_line=MAX_LINE_CHARS, encoding='utf-8'):
    """Return the text of a small regular file, refusing anything else with one line.

    ``what`` names the file in messages (``'labels file'``); lines longer than ``max_line``
    characters are refused, as are undecodable bytes.
    """
    with open_regular_file(path, what, max_bytes) as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:  # grew between fstat and read
        raise ClassifierError('%s %s has more than %d bytes' % (what, path, max_bytes))
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ClassifierError('%s %s is not %s text (byte %d)' % (
            what, path, encoding, exc.start)) from None
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > max_line:
            raise ClassifierError('%s %s: line %d has %d characters (at most %d)' % (
                what, path, number, len(line), max_line))
    return text
