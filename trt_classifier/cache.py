# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Cache directory, content hashes and atomic writes shared by weights, ONNX and engine caches."""

import hashlib
import logging
import os
import tempfile

from trt_classifier.errors import ClassifierError

_log = logging.getLogger(__name__)


def default_cache_dir():
    """Return $TRT_CLASSIFIER_CACHE, else $XDG_CACHE_HOME/trt_classifier or ~/.cache/..."""
    explicit = os.environ.get('TRT_CLASSIFIER_CACHE')
    if explicit:
        return explicit
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, 'trt_classifier')


_FALLBACKS = {}  # unusable cache path -> this process's temp dir instead


def usable_cache_dir(path=None, log=None):
    """Return a writable directory: ``path`` (created) or, if that fails, a private temp dir.

    A robot with a read-only home must still classify: the fallback is logged once and the caller
    works in memory/temp for this run (nothing is persisted, nothing loops).
    """
    path = os.path.expanduser(path or default_cache_dir())
    try:
        os.makedirs(path, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix='.probe-', delete=True)
        probe.close()
        return path
    except OSError as exc:
        # One fallback per unusable path and process: later callers (ONNX export, weights
        # conversion, engine build) share it, so nothing is converted twice or logged again.
        fallback = _FALLBACKS.get(path)
        if fallback and os.path.isdir(fallback):
            return fallback
        fallback = _FALLBACKS[path] = tempfile.mkdtemp(prefix='trt_classifier-')
        (log or _log).warning(
            'cache directory %s is not writable (%s); using %s for this run only' % (
                path, exc.strerror or exc, fallback))
        return fallback


def file_sha256(path, chunk=1 << 20):
    """Hex SHA-256 of a file's content."""
    digest = hashlib.sha256()
    try:
        with open(path, 'rb') as f:
            for block in iter(lambda: f.read(chunk), b''):
                digest.update(block)
    except OSError as exc:
        raise ClassifierError('cannot read %s: %s' % (path, exc.strerror or exc)) from exc
    return digest.hexdigest()


def atomic_write(path, data):
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    ``data`` is bytes, or an iterable of bytes-like chunks (a large file is then never whole in
    memory).

    Written to a temp file in the same directory, flushed and fsynced, then ``os.replace``d: two
    nodes sharing one cache never read a half-written file.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix='.' + os.path.basename(path) + '.')
    try:
        with os.fdopen(fd, 'wb') as f:
            for chunk in _chunks(data):
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_with_digest(path, data):
    """Atomically write ``data`` and a ``path.sha256`` sidecar holding its hash."""
    atomic_write(path, data)
    atomic_write(path + '.sha256', hashlib.sha256(data).hexdigest().encode('ascii'))


def _chunks(data):
    """Return ``data`` as an iterable of chunks.

    A bytes-like object (anything with the buffer protocol, e.g. TensorRT's IHostMemory) is one
    chunk; anything else is taken to be an iterable of them.
    """
    try:
        memoryview(data)
    except TypeError:
        return data
    return [data]


def write_chunks_with_digest(path, chunks):
    """:func:`write_with_digest` for an iterable of bytes-like chunks; return the hex digest."""
    digest = hashlib.sha256()

    def hashed():
        for chunk in chunks:
            digest.update(chunk)
            yield chunk

    atomic_write(path, hashed())
    atomic_write(path + '.sha256', digest.hexdigest().encode('ascii'))
    return digest.hexdigest()


def read_verified(path):
    """Return the bytes of a file written by :func:`write_with_digest`, or None.

    None means "absent, truncated or corrupted: rebuild it"; the reason is in the return of
    :func:`verify_reason`.
    """
    reason = verify_reason(path)
    if reason:
        return None
    with open(path, 'rb') as f:
        return f.read()


def verify_reason(path):
    """'' if ``path`` matches its sidecar digest, else why not (for the rebuild log line)."""
    if not os.path.exists(path):
        return 'not cached yet'
    try:
        with open(path + '.sha256', 'rb') as f:
            expected = f.read().decode('ascii').strip()
    except (OSError, UnicodeDecodeError):
        return 'no checksum beside %s' % path
    actual = file_sha256(path)
    if actual != expected:
        return 'checksum mismatch for %s (corrupted or truncated)' % path
    return ''
