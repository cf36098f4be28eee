# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""pycuda plumbing for the TensorRT backend: the primary context, pinned/device buffers, a stream.

Kept apart from TensorRT so that ``tools/gpu_pycuda_check.py`` exercises exactly this code on a
GPU machine without TensorRT. Facts from docs/TENSORRT.md section 5:

* ``Device.retain_primary_context()`` gives the CUDA runtime's context (shared with TensorRT and
  CuPy) but does not make it current: ``push()`` it, and ``Context.pop()`` in a ``finally``.
  Worker threads (ROS 2 executors) must push/pop around every GPU call.
* Pinned (``pagelocked_empty``) host memory is required by the async copies.
* Buffers and streams freed while no context is current warn "could not be cleaned up" (seen on
  the GPU test machine, docs/PLATFORM.md): free them with the context pushed.

``cuda`` is the ``pycuda.driver`` module, passed in so tests can substitute a fake.
"""

import contextlib

from trt_classifier.errors import ClassifierError


class PrimaryContext(object):
    """The device's primary context, retained once, pushed per call on any thread."""

    def __init__(self, cuda, device_id=0):
        self.cuda = cuda
        cuda.init()
        if device_id >= cuda.Device.count():
            raise ClassifierError('GPU %d does not exist (this machine has %d)' % (
                device_id, cuda.Device.count()))
        self.device = cuda.Device(device_id)
        self.context = self.device.retain_primary_context()

    @contextlib.contextmanager
    def pushed(self):
        """Make the primary context current on this thread for the ``with`` body."""
        self.context.push()
        try:
            yield self
        finally:
            self.cuda.Context.pop()

    def device_name(self):
        return self.device.name()

    def compute_capability(self):
        return tuple(self.device.compute_capability())

    def release(self):
        """Drop our reference (pycuda then releases the primary context); nothing pushed."""
        self.context = None


def is_device_array(batch):
    """Tell CuPy arrays (they carry ``.data.ptr``) from NumPy's (``.data`` is a memoryview)."""
    return hasattr(getattr(batch, 'data', None), 'ptr')


class CudaBuffers(object):
    """One pinned host buffer and one device buffer per named tensor, and one stream.

    ``specs`` maps name -> ``(shape, numpy dtype)``. Create, use and ``free()`` with the context
    pushed. Copies are asynchronous on ``self.stream``; call ``synchronize()`` before reading a
    host buffer.
    """

    def __init__(self, cuda, specs):
        import numpy
        self.cuda = cuda
        self.stream = cuda.Stream()
        self.host = {}
        self.device = {}
        for name, (shape, dtype) in specs.items():
            self.host[name] = cuda.pagelocked_empty(tuple(shape), numpy.dtype(dtype))
            self.device[name] = cuda.mem_alloc(max(1, self.host[name].nbytes))

    def pointer(self, name):
        return int(self.device[name])

    def pointers(self):
        return {name: int(alloc) for name, alloc in self.device.items()}

    @property
    def handle(self):
        return self.stream.handle

    def _check(self, name, batch, same_dtype):
        host = self.host[name]
        if tuple(batch.shape) != host.shape or (same_dtype and batch.dtype != host.dtype):
            raise ClassifierError('tensor %s needs a %s array of shape %s, got %s %s' % (
                name, host.dtype, host.shape, batch.dtype, tuple(batch.shape)))

    def upload(self, name, batch):
        """Queue a copy of ``batch`` (NumPy, or CuPy on this GPU) into tensor ``name``.

        NumPy arrays are cast into the pinned buffer. CuPy arrays (same dtype) are copied
        device-to-device from ``batch.data.ptr``. pycuda's ``Stream()`` is
        a blocking stream, so it waits for work queued on CuPy's (legacy) default stream; work on
        a non-blocking CuPy stream must be synchronised by the caller first.
        """
        device_array = is_device_array(batch)
        self._check(name, batch, same_dtype=device_array)
        if device_array:
            if not batch.flags.c_contiguous:
                raise ClassifierError('tensor %s: the CuPy array must be C-contiguous' % name)
            self.cuda.memcpy_dtod_async(self.device[name], int(batch.data.ptr),
                                        self.host[name].nbytes, self.stream)
        else:
            self.host[name][...] = batch
            self.cuda.memcpy_htod_async(self.device[name], self.host[name], self.stream)

    def download(self, name):
        """Queue a copy of tensor ``name`` into its pinned host buffer and return that buffer."""
        self.cuda.memcpy_dtoh_async(self.host[name], self.device[name], self.stream)
        return self.host[name]

    def synchronize(self):
        self.stream.synchronize()

    def free(self):
        """Release everything now (call with the context pushed); safe to call twice."""
        for alloc in self.device.values():
            alloc.free()
        for array in self.host.values():
            base = getattr(array, 'base', None)
            if hasattr(base, 'free'):
                base.free()
        self.device = {}
        self.host = {}
        self.stream = None
