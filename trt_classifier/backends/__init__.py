# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Backend registry.

Runtimes (chainer, onnxruntime, tensorrt, pycuda) are imported only when the backend that needs
them is chosen.
"""

import importlib

from trt_classifier.errors import BackendUnavailable, ClassifierError

# name -> (module, class, runtime modules it needs, how to get them)
BACKENDS = {
    'chainer': ('chainer_backend', 'ChainerBackend', ('chainer',),
                'pip install "chainer==7.8.1" "numpy<2" (and cupy for device:=gpu)'),
    'onnxruntime': ('onnxruntime_backend', 'OnnxRuntimeBackend', ('onnxruntime', 'onnx'),
                    'pip install onnxruntime "onnx==1.15.0" (onnxruntime-gpu for CUDA)'),
    # classic TensorRT or TensorRT-RTX, a GPU it runs on, pycuda: tensorrt_backend.check_runtime
    'tensorrt': ('tensorrt_backend', 'TensorRTBackend', (), ''),
    'null': ('null_backend', 'NullBackend', (), ''),
}


def backend_names():
    return sorted(BACKENDS)


def _entry(name):
    try:
        return BACKENDS[name]
    except KeyError:
        raise ClassifierError('unknown backend %r; known backends: %s' % (
            name, ', '.join(backend_names()))) from None


def check_available(name):
    """Raise BackendUnavailable naming the missing module and how to install it."""
    _module, _cls, runtimes, hint = _entry(name)
    if name == 'tensorrt':  # which runtime, which GPU, pycuda: the backend module decides
        from trt_classifier.backends.tensorrt_backend import check_runtime
        check_runtime()
    for runtime in runtimes:
        if runtime == 'chainer':
            from trt_classifier.compat import patch_numpy
            patch_numpy()
        try:
            importlib.import_module(runtime)
        except Exception as exc:  # ImportError, or a broken install (OSError from a library)
            raise BackendUnavailable(
                'backend %s needs the Python module %s, which cannot be imported here (%s). '
                'To get it: %s' % (name, runtime, exc, hint)) from exc


def is_available(name):
    try:
        check_available(name)
        return True
    except BackendUnavailable:
        return False


def backend_class(name):
    """Return backend ``name``'s class; importing it imports no runtime (``_load`` does)."""
    module, cls, _runtimes, _hint = _entry(name)
    return getattr(importlib.import_module('trt_classifier.backends.' + module), cls)


def create_backend(name, model, **kwargs):
    """Instantiate backend ``name`` for ``model``; call ``load()`` or use ``with`` next."""
    check_available(name)
    return backend_class(name)(model, **kwargs)
