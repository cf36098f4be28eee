# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Cache directory, content hashes and atomic writes shared by weights, ONNX and engine caches.

The cache holds TensorRT engines, which are executable code, so it is private: created with mode
0700, and refused when someone else owns it or can write to it (README, "Security"). A SHA-256
sidecar only detects damage; it authenticates nothing, since whoever can write a file can
write its sidecar.
"""

import hashlib
import logging
import os
import stat
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
    works in memory/temp for this run (nothing is persisted, nothing loops). A directory that
    others can write to is refused (:func:`check_private_dir`), not replaced.
    """
    path = os.path.expanduser(path or default_cache_dir())
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        check_private_dir(path)
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


CACHE_SUBDIRS = ('engines', 'onnx', 'weights')


def not_private(path, info):
    """Why ``info`` (a stat result of ``path``) is not private to this user, or ''."""
    if info.st_uid not in (os.geteuid(), 0):
        return '%s belongs to uid %d, not to this user (uid %d) or root' % (
            path, info.st_uid, os.geteuid())
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return '%s is writable by %s (mode %03o)' % (
            path, 'others' if info.st_mode & stat.S_IWOTH else 'its group',
            stat.S_IMODE(info.st_mode))
    return ''


def check_private_dir(path):
    """Raise ClassifierError (one line) unless the cache directory ``path`` is private.

    Private: a directory owned by this user (or root) that neither its group nor others can
    write to, as are its existing subdirectories; and no parent directory lets others rename it
    (writable by others without the sticky bit, as /tmp has). Anyone who can write there could
    plant a TensorRT engine, which the node would then execute.
    """
    real = os.path.realpath(path)
    info = os.stat(real)
    if not stat.S_ISDIR(info.st_mode):
        raise ClassifierError('cache directory %s is not a directory' % path)
    reasons = [not_private(real, info)]
    for sub in CACHE_SUBDIRS:
        sub_path = os.path.join(real, sub)
        if os.path.isdir(sub_path):
            reasons.append(not_private(sub_path, os.stat(sub_path)))
    parent = os.path.dirname(real)
    while parent and parent != os.path.dirname(parent):
        mode = os.stat(parent).st_mode
        if mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
            reasons.append('its parent %s is writable by others without the sticky bit' % parent)
        parent = os.path.dirname(parent)
    reasons = [r for r in reasons if r]
    if reasons:
        raise ClassifierError(
            'refusing cache directory %s: %s. TensorRT engines cached there are executable '
            'code; use a directory only you can write to (chmod 700 it, or choose another with '
            'cache_dir / TRT_CLASSIFIER_CACHE)' % (path, reasons[0]))


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
    os.makedirs(directory, mode=0o700, exist_ok=True)
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
    """Atomically write ``data`` and a ``path.sha256`` sidecar holding its hash; return it."""
    digest = hashlib.sha256(data).hexdigest()
    atomic_write(path, data)
    atomic_write(path + '.sha256', digest.encode('ascii'))
    return digest


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

    None means "absent, truncated, corrupted or not private: rebuild it"; :func:`load_verified`
    also says why.
    """
    return load_verified(path)[0]


def load_verified(path):
    """Return ``(bytes, '')`` for a file that matches its sidecar digest, else ``(None, why)``.

    The file is read once and hashed in memory. An unreadable file is a reason to rebuild, not
    an error.
    """
    try:
        reason = _unverifiable(path)
        if not reason:
            with open(path, 'rb') as f:
                data = f.read()
            if hashlib.sha256(data).hexdigest() == _expected_digest(path):
                return data, ''
            reason = _MISMATCH % path
    except (OSError, ClassifierError) as exc:
        reason = str(exc)
    return None, reason


def verify(path):
    """Return ``(sha256, '')`` if ``path`` matches its sidecar digest, else ``('', why)``.

    The file is hashed once: the digest that verifies it is the one callers key on.
    """
    reason = _unverifiable(path)
    if reason:
        return '', reason
    actual = file_sha256(path)
    if actual != _expected_digest(path):
        return '', _MISMATCH % path
    return actual, ''


def verify_reason(path):
    """'' if ``path`` matches its sidecar digest, else why not (for the rebuild log line)."""
    return verify(path)[1]


_MISMATCH = 'checksum mismatch for %s (corrupted or truncated)'


def _unverifiable(path):
    """Why ``path`` cannot be trusted before its content is read ('' if it may be)."""
    if not os.path.exists(path):
        return 'not cached yet'
    private = not_private(path, os.stat(path))
    if private:  # planted or exposed: rebuild rather than trust it
        return private
    if _expected_digest(path) is None:
        return 'no checksum beside %s' % path
    return ''


def _expected_digest(path):
    try:
        with open(path + '.sha256', 'rb') as f:
            return f.read().decode('ascii').strip()
    except (OSError, UnicodeDecodeError):
        return None


def cached_file(path, what, make, log):
    """Return the SHA-256 of the verified file at ``path``, calling ``make(path)`` on a miss.

    ``make`` writes the file with its digest sidecar (write_with_digest or
    write_chunks_with_digest) and returns the digest; ``what`` starts the log line that says
    why it runs (``exporting vgg16 to ONNX (opset 11): not cached yet``).
    """
    sha, reason = verify(path)
    if sha:
        return sha
    log.info('%s: %s' % (what, reason))
    return make(path)
