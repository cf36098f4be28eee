# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Read a state dict saved by PyTorch's legacy (pre-1.6, non-zip) ``torch.save``, without torch.

The legacy file is a sequence of pickles followed by raw storage bytes:

1. the magic number ``0x1950a86a20f9469cfc6c``;
2. the protocol version (1001);
3. system info (``{'little_endian': True, 'type_sizes': ...}``);
4. the object itself (for a state dict an ``OrderedDict`` of tensors). Tensors are rebuilt by
   ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)``; storages appear as
   persistent ids ``('storage', <torch.FloatStorage>, key, location, numel[, view_metadata])``;
5. the list of storage keys, in the order their bytes follow;
6. for each key: the element count as 8 little-endian bytes, then the raw elements.

Unpickling is restricted: only the few globals listed in ``_ALLOWED`` are resolved, to stand-ins
defined here, so a crafted file cannot run code through this reader, and torch is never imported.
"""

import collections
import pickle
import struct
import zipfile

import numpy

from trt_classifier.errors import ClassifierError

MAGIC_NUMBER = 0x1950a86a20f9469cfc6c
PROTOCOL_VERSION = 1001

# torch storage class -> little-endian numpy dtype
STORAGE_DTYPES = {
    'DoubleStorage': '<f8',
    'FloatStorage': '<f4',
    'HalfStorage': '<f2',
    'LongStorage': '<i8',
    'IntStorage': '<i4',
    'ShortStorage': '<i2',
    'CharStorage': 'i1',
    'ByteStorage': 'u1',
    'BoolStorage': '?',
}


class _StorageType(object):

    def __init__(self, name):
        self.name = name
        self.dtype = numpy.dtype(STORAGE_DTYPES[name])


class _Storage(object):
    """A storage whose bytes are read after the object pickle (``array`` is set then)."""

    def __init__(self, key, dtype, numel):
        self.key = key
        self.dtype = dtype
        self.numel = numel
        self.array = None


class _StorageView(object):
    """Legacy view metadata: elements ``[offset, offset + size)`` of a root storage."""

    def __init__(self, root, offset, size):
        self.root = root
        self.offset = offset
        self.size = size


class _TensorRef(object):
    """A tensor waiting for its storage's bytes."""

    def __init__(self, storage, offset, size, stride):
        self.storage = storage
        self.offset = offset
        self.size = tuple(size)
        self.stride = tuple(stride)


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
    return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *unused):
    return data


_ALLOWED = {
    ('collections', 'OrderedDict'): collections.OrderedDict,
    ('torch._utils', '_rebuild_tensor_v2'): _rebuild_tensor,
    ('torch._utils', '_rebuild_tensor'): _rebuild_tensor,
    ('torch._utils', '_rebuild_parameter'): _rebuild_parameter,
}
_ALLOWED.update((('torch', name), _StorageType(name)) for name in STORAGE_DTYPES)


class _Unpickler(pickle.Unpickler):
    """Resolves only the globals in ``_ALLOWED``; collects storages by key."""

    def __init__(self, f, name, storages):
        super(_Unpickler, self).__init__(f)
        self._name = name
        self._storages = storages

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise ClassifierError(
                '%s: refusing to load global %s.%s (not a plain PyTorch state dict; only '
                'tensors and OrderedDicts are accepted)' % (self._name, module, name)) from None

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or len(pid) < 5 or pid[0] != 'storage':
            raise ClassifierError('%s: unexpected persistent id %r' % (self._name, pid))
        storage_type, key, numel = pid[1], pid[2], pid[4]
        if not isinstance(storage_type, _StorageType):
            raise ClassifierError('%s: unexpected storage type %r' % (self._name, storage_type))
        storage = self._storages.get(key)
        if storage is None:
            storage = _Storage(key, storage_type.dtype, numel)
            self._storages[key] = storage
        view = pid[5] if len(pid) > 5 else None
        if view is not None:
            view_key, offset, view_size = view
            if view_key not in self._storages:
                self._storages[view_key] = _StorageView(storage, offset, view_size)
            return self._storages[view_key]
        return storage


def _load_pickle(f, name, storages=None):
    try:
        return _Unpickler(f, name, {} if storages is None else storages).load()
    except ClassifierError:
        raise
    except Exception as exc:  # EOFError, UnpicklingError, ValueError...: all "not this format"
        raise ClassifierError('%s: not a legacy PyTorch file (%s)' % (name, exc)) from exc


def _read_exact(f, n, name):
    data = f.read(n)
    if len(data) != n:
        raise ClassifierError('%s: truncated (wanted %d bytes, got %d)' % (name, n, len(data)))
    return data


def _materialise(obj, name):
    if isinstance(obj, _TensorRef):
        storage, offset = obj.storage, obj.offset
        if isinstance(storage, _StorageView):
            storage, offset = storage.root, offset + storage.offset
        if storage.array is None:
            raise ClassifierError('%s: storage %s has no data' % (name, storage.key))
        itemsize = storage.array.dtype.itemsize
        needed = offset + 1 + sum((s - 1) * st for s, st in zip(obj.size, obj.stride))
        if min(obj.size + (1,)) > 0 and needed > storage.array.size:
            raise ClassifierError('%s: tensor exceeds storage %s' % (name, storage.key))
        view = numpy.lib.stride_tricks.as_strided(
            storage.array[offset:], shape=obj.size,
            strides=tuple(st * itemsize for st in obj.stride))
        return view.copy()  # contiguous, writable, and not aliasing other tensors
    if isinstance(obj, dict):
        out = type(obj)() if isinstance(obj, collections.OrderedDict) else {}
        for key, value in obj.items():
            out[key] = _materialise(value, name)
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialise(v, name) for v in obj)
    return obj


def load_fileobj(f, name='<stream>'):
    """Read a legacy ``torch.save`` stream; tensors become numpy arrays (copies)."""
    magic = _load_pickle(f, name)
    if magic != MAGIC_NUMBER:
        raise ClassifierError('%s: not a legacy PyTorch file (bad magic number)' % name)
    protocol = _load_pickle(f, name)
    if protocol != PROTOCOL_VERSION:
        raise ClassifierError('%s: unsupported PyTorch protocol version %r' % (name, protocol))
    sys_info = _load_pickle(f, name)
    if not isinstance(sys_info, dict) or not sys_info.get('little_endian', False):
        raise ClassifierError('%s: only little-endian files are supported' % name)
    storages = {}
    result = _load_pickle(f, name, storages)
    keys = _load_pickle(f, name)
    if not isinstance(keys, list):
        raise ClassifierError('%s: storage key list missing' % name)
    for key in keys:
        storage = storages.get(key)
        if not isinstance(storage, _Storage):
            raise ClassifierError('%s: unknown storage key %r' % (name, key))
        numel = struct.unpack('<q', _read_exact(f, 8, name))[0]
        if numel != storage.numel:
            raise ClassifierError('%s: storage %s has %d elements, expected %d' % (
                name, key, numel, storage.numel))
        raw = _read_exact(f, numel * storage.dtype.itemsize, name)
        storage.array = numpy.frombuffer(raw, dtype=storage.dtype)
    return _materialise(result, name)


def load(path):
    """Read the legacy PyTorch file at ``path``; return what it holds (e.g. an OrderedDict).

    Zip-format files (``torch.save`` since PyTorch 1.6) are refused with a clear message.
    """
    if zipfile.is_zipfile(path):
        raise ClassifierError(
            '%s is a zip-format PyTorch file; only the legacy (pre-1.6) format is supported '
            'here (re-save it with torch.save(obj, path, _use_new_zipfile_serialization=False))'
            % path)
    try:
        with open(path, 'rb') as f:
            return load_fileobj(f, path)
    except OSError as exc:
        raise ClassifierError('cannot read %s: %s' % (path, exc.strerror or exc)) from exc


def load_state_dict(path):
    """Read a legacy state dict: an OrderedDict name -> numpy array, in file order."""
    obj = load(path)
    if not isinstance(obj, dict):
        raise ClassifierError('%s does not hold a state dict (found %s)' % (
            path, type(obj).__name__))
    bad = [k for k, v in obj.items() if not isinstance(v, numpy.ndarray)]
    if bad:
        raise ClassifierError('%s: entries that are not tensors: %s' % (path, ', '.join(
            str(k) for k in bad[:5])))
    return collections.OrderedDict(obj)
