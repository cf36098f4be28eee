# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Read Chainer ``.npz`` weights without pickle, checking every header before reading data.

``chainer.serializers.load_npz`` opens archives with ``numpy.load(allow_pickle=True)``: an
object array in a weights file runs code of the file's author. Weights are data, so this module
reads them the way numpy's format defines them and never unpickles anything:

1. the archive must be a regular file no larger than the model can need;
2. every member's ``.npy`` header is parsed on its own, with bounded reads
   (``numpy.lib.format``'s header parser, which uses ``ast.literal_eval``); an object,
   structured or non-numeric dtype is refused, and so is a member whose declared uncompressed
   size differs from what its header implies;
3. names, shapes and dtypes are checked against the model *before* any data is read, so neither a
   zip bomb nor a header declaring a huge shape makes numpy allocate or zlib inflate it;
4. then each array is read in bounded chunks (into the parameter itself where the dtype
   matches), zipfile's CRC is checked, and it is copied as Chainer's ``NpzDeserializer`` does
   (same keys as ``save_npz``: ``conv1/W``, ``bn/avg_mean``, ``bn/N``; a missing key is an error,
   extra members are ignored; arrays are copied with numpy's ``same_kind`` casting).

Every failure is a :class:`ClassifierError` with one line naming the file and the array.
"""

import io
import struct
import zipfile
import zlib

import numpy

from trt_classifier.errors import ClassifierError
from trt_classifier.safe_files import open_regular_file

MAGIC = b'\x93NUMPY'
MAX_HEADER_BYTES = 10000  # numpy's own limit for headers it parses (max_header_size)
MAX_ITEMSIZE = 8  # float64 / int64: any numeric dtype a weights file can sensibly hold
CHUNK_BYTES = 1 << 20
MEMBER_SLACK_BYTES = 64 * 1024  # zip entry headers and names per member, for the archive bound
# zipfile parses the whole central directory into ZipInfo objects (~0.5 KB each) when it opens an
# archive: bound it first, so that millions of tiny entries cannot exhaust memory.
MAX_DIRECTORY_BYTES = 2 << 20
MAX_MEMBERS = 10000  # ResNet101 has 627 arrays, VGG16 32
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
               zlib.error, RuntimeError, NotImplementedError, struct.error, KeyError)


class Member(object):
    """One ``.npy`` member, from its header: key, shape, dtype and where its data starts."""

    def __init__(self, info, shape, dtype, fortran_order, data_offset):
        self.info = info
        self.key = info.filename[:-len('.npy')]
        self.shape = shape
        self.dtype = dtype
        self.fortran_order = fortran_order
        self.data_offset = data_offset
        self.data_bytes = element_count(shape) * dtype.itemsize


def element_count(shape):
    count = 1
    for dim in shape:
        count *= int(dim)
    return count


def _read_exact(f, n, what):
    data = f.read(n)
    if len(data) != n:
        raise ClassifierError('%s is truncated' % what)
    return data


def _parse_header(f, what):
    """Read a ``.npy`` header with bounded reads; return (shape, dtype, fortran, header size)."""
    from numpy.lib import format as npy_format
    prefix = _read_exact(f, len(MAGIC) + 2, what)
    if prefix[:len(MAGIC)] != MAGIC:
        raise ClassifierError('%s is not a .npy array' % what)
    version = (bytearray(prefix)[-2], bytearray(prefix)[-1])
    if version not in ((1, 0), (2, 0)):
        raise ClassifierError('%s has .npy format version %d.%d (1.0 and 2.0 are read)' % (
            (what,) + version))
    size_format = '<H' if version == (1, 0) else '<I'
    size_bytes = _read_exact(f, struct.calcsize(size_format), what)
    header_len = struct.unpack(size_format, size_bytes)[0]
    if header_len > MAX_HEADER_BYTES:
        raise ClassifierError('%s has a %d-byte .npy header (at most %d)' % (
            what, header_len, MAX_HEADER_BYTES))
    header = _read_exact(f, header_len, what)
    # numpy's parser on the bounded copy: it checks the keys and literal_evals the dict
    fp = io.BytesIO(prefix + size_bytes + header)
    npy_format.read_magic(fp)
    reader = (npy_format.read_array_header_1_0 if version == (1, 0)
              else npy_format.read_array_header_2_0)
    try:
        shape, fortran_order, dtype = reader(fp)
    except (ValueError, SyntaxError, TypeError) as exc:
        raise ClassifierError('%s has an invalid .npy header: %s' % (
            what, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)) from None
    return tuple(int(d) for d in shape), dtype, fortran_order, len(fp.getvalue())


def check_dtype(dtype, what):
    """Refuse object, structured, string and oversized dtypes (only plain numbers are weights)."""
    if dtype.hasobject:
        raise ClassifierError(
            '%s holds Python objects (dtype object); refusing it: weights are read without '
            "pickle, which would run code of the file's author" % what)
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in 'biuf' or \
            dtype.itemsize > MAX_ITEMSIZE:
        raise ClassifierError('%s has dtype %s; weights must be booleans, integers or floats of '
                              'at most %d bytes' % (what, dtype.str, MAX_ITEMSIZE))


def central_directory_bytes(f):
    """Return the size of a zip's central directory as its end records declare it, or 0.

    Reads the end-of-central-directory record (and the zip64 one) the way zipfile finds them;
    0 when there is none, and zipfile then reports the file as not a zip archive.
    """
    f.seek(0, 2)
    size = f.tell()
    tail_start = max(0, size - (22 + 0xFFFF))  # the record plus the longest comment
    f.seek(tail_start)
    tail = f.read()
    at = tail.rfind(b'PK\x05\x06')
    f.seek(0)
    if at < 0 or len(tail) - at < 22:
        return 0
    directory = struct.unpack('<I', tail[at + 12:at + 16])[0]
    if directory == 0xFFFFFFFF and at >= 20 and tail[at - 20:at - 16] == b'PK\x06\x07':
        f.seek(struct.unpack('<Q', tail[at - 12:at - 4])[0])
        record = f.read(56)
        f.seek(0)
        if len(record) == 56 and record[:4] == b'PK\x06\x06':
            directory = struct.unpack('<Q', record[40:48])[0]
    return directory


class SafeNpz(object):
    """An ``.npz`` archive whose members' headers were all checked (a context manager).

    ``max_bytes`` bounds the archive file and the sum of its members' uncompressed sizes.
    """

    def __init__(self, path, max_bytes, what='weights file'):
        self.path = path
        self.what = what
        self.max_bytes = max_bytes
        self._file = open_regular_file(path, what, max_bytes)
        try:
            directory = central_directory_bytes(self._file)
            if directory > MAX_DIRECTORY_BYTES:
                raise ClassifierError('%s %s has a %d-byte zip directory (at most %d); refusing '
                                      'to parse it' % (what, path, directory, MAX_DIRECTORY_BYTES))
            self._zip = zipfile.ZipFile(self._file)
            self.members = self._scan()
        except ClassifierError:
            self.close()
            raise
        except _ZIP_ERRORS as exc:
            self.close()
            raise ClassifierError('%s %s is not a readable .npz archive: %s' % (
                what, path, _reason(exc))) from None

    def _name(self, key):
        return '%s %s: array %r' % (self.what, self.path, key)

    def _scan(self):
        members = {}
        total = 0
        infos = self._zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ClassifierError('%s %s has %d members (at most %d)' % (
                self.what, self.path, len(infos), MAX_MEMBERS))
        for info in infos:
            if info.filename.endswith('/'):
                continue  # a directory entry holds no data
            if not info.filename.endswith('.npy'):
                raise ClassifierError('%s %s: member %r is not a .npy array' % (
                    self.what, self.path, info.filename))
            member = self._read_member_header(info)
            total += info.file_size
            if total > self.max_bytes:
                raise ClassifierError(
                    '%s %s declares more than %d bytes of arrays when unpacked (up to %r); '
                    'refusing to inflate it' % (self.what, self.path, self.max_bytes, member.key))
            members[member.key] = member
        return members

    def _read_member_header(self, info):
        what = self._name(info.filename[:-len('.npy')])
        if info.file_size > self.max_bytes:  # refuse before inflating a byte of it
            raise ClassifierError('%s declares %d bytes when unpacked, more than the %d the '
                                  'weights may have; refusing to inflate it' % (
                                      what, info.file_size, self.max_bytes))
        with self._zip.open(info) as f:
            shape, dtype, fortran_order, offset = _parse_header(f, what)
        check_dtype(dtype, what)
        member = Member(info, shape, dtype, fortran_order, offset)
        expected = offset + member.data_bytes
        if info.file_size != expected:
            raise ClassifierError(
                '%s: its header declares shape %s %s (%d bytes) but the archive entry has %d '
                'bytes; refusing it (truncated, or crafted to inflate)' % (
                    what, shape, dtype.str, member.data_bytes, info.file_size - offset))
        return member

    def read(self, key, out=None):
        """Return member ``key`` as an array, read in bounded chunks (into ``out`` if it fits)."""
        member = self.members[key]
        direct = (isinstance(out, numpy.ndarray) and out.dtype == member.dtype and
                  out.shape == member.shape and out.flags.c_contiguous and
                  out.flags.writeable and not member.fortran_order)
        if not direct:
            out = numpy.empty(member.shape[::-1] if member.fortran_order else member.shape,
                              dtype=member.dtype)
        self._fill(member, out.reshape(-1).view(numpy.uint8))
        return out.transpose() if member.fortran_order else out

    def _fill(self, member, view):
        what = self._name(member.key)
        try:
            with self._zip.open(member.info) as f:
                _read_exact(f, member.data_offset, what)
                done = 0
                while done < member.data_bytes:
                    block = f.read(min(CHUNK_BYTES, member.data_bytes - done))
                    if not block:
                        raise ClassifierError('%s is truncated (%d of %d bytes)' % (
                            what, done, member.data_bytes))
                    view[done:done + len(block)] = numpy.frombuffer(block, numpy.uint8)
                    done += len(block)
                if f.read(1):  # also makes zipfile compare the CRC at the end of the entry
                    raise ClassifierError('%s has more data than its header declares' % what)
        except ClassifierError:
            raise
        except _ZIP_ERRORS as exc:
            raise ClassifierError('%s cannot be read: %s' % (what, _reason(exc))) from None

    def close(self):
        if getattr(self, '_zip', None) is not None:
            self._zip.close()
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def _reason(exc):
    text = str(exc).splitlines()[0] if str(exc) else ''
    return '%s%s' % (type(exc).__name__, ': ' + text if text else '')


class _Walk(object):
    """A Chainer (de)serializer that visits ``model.serialize`` keys as ``save_npz`` names them.

    Without ``npz`` it records ``{key: current value}`` and changes nothing; with ``npz`` it
    reads each array and copies it in as ``chainer.serializers.NpzDeserializer`` does.
    """

    def __init__(self, seen, npz=None, path=''):
        self.seen, self.npz, self.path = seen, npz, path

    def __getitem__(self, key):
        return _Walk(self.seen, self.npz, self.path + key.strip('/') + '/')

    def __call__(self, key, value):
        key = self.path + key.lstrip('/')
        if self.npz is None:
            self.seen[key] = value
            return value
        data = self.npz.read(key, out=value)
        if value is None:  # an uninitialized parameter: Link.serialize initializes it from data
            return data
        if isinstance(value, numpy.ndarray):
            if data is not value:
                numpy.copyto(value, data)  # same_kind casting, as Chainer's deserializer
            return value
        if hasattr(value, 'set') and hasattr(value, 'dtype'):  # a CuPy array
            value.set(numpy.ascontiguousarray(data, dtype=value.dtype))
            return value
        return type(value)(data.reshape(()) if data.size == 1 else data)


def _target_problem(member, target):
    """'' if ``member`` can be copied into ``target`` (a model value), else why not."""
    if target is None:
        return ''
    shape = getattr(target, 'shape', None)
    dtype = getattr(target, 'dtype', None)
    if shape is None:  # a Python scalar such as BatchNormalization.N
        if element_count(member.shape) != 1:
            return 'has shape %s, the model holds a single %s' % (
                member.shape, type(target).__name__)
        if isinstance(target, bool) or not isinstance(target, (int, float)):
            return ''
        if isinstance(target, int) and member.dtype.kind not in 'biu':
            return 'has dtype %s, the model holds an integer' % member.dtype.str
        return ''
    if tuple(shape) != member.shape:
        return 'has shape %s, the model expects %s' % (member.shape, tuple(shape))
    if not numpy.can_cast(member.dtype, numpy.dtype(dtype), 'same_kind'):
        return "has dtype %s, which does not convert to the model's %s" % (
            member.dtype.str, numpy.dtype(dtype).str)
    return ''


def archive_bound(targets, max_unknown_bytes):
    """Return the bytes an npz for ``targets`` may hold.

    8 per element (float64 at most) plus slack per member, and ``max_unknown_bytes`` in all for
    uninitialized parameters, whose shape is not known.
    """
    known = sum(element_count(getattr(v, 'shape', ())) * MAX_ITEMSIZE + MEMBER_SLACK_BYTES
                for v in targets.values() if v is not None)
    return known + (max_unknown_bytes if any(v is None for v in targets.values()) else 0)


def load_into(model, path, max_bytes=None, max_unknown_bytes=1 << 30):
    """Copy the arrays of the npz at ``path`` into the Chainer ``model``; never unpickle.

    The archive may hold at most ``max_bytes`` (default: :func:`archive_bound`). Every name,
    shape and dtype is checked before the first value is copied; a damaged member found while
    reading (CRC, truncation) raises, and the caller discards the half-loaded model.
    """
    targets = {}
    model.serialize(_Walk(targets))
    if max_bytes is None:
        max_bytes = archive_bound(targets, max_unknown_bytes)
    with SafeNpz(path, max_bytes) as npz:
        missing = [key for key in targets if key not in npz.members]
        if missing:
            raise ClassifierError("weights file %s has no array %r (%d of the model's %d arrays "
                                  'are missing)' % (path, missing[0], len(missing), len(targets)))
        for key, target in targets.items():
            problem = _target_problem(npz.members[key], target)
            if problem:
                raise ClassifierError('weights file %s: array %r %s' % (path, key, problem))
        model.serialize(_Walk({}, npz))  # one array at a time: peak memory as Chainer's
    return model
