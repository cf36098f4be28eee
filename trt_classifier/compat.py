# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Import Chainer 7.8.1 on newer NumPy/Python.

Chainer 7.8.1 reads ``numpy.sctypes`` (removed in NumPy 2) and imports ``numpy.distutils``
(gone on Python >= 3.12, used only for macOS BLAS detection). Where those names are missing we
provide the two minimal stand-ins that made Chainer run on Python 3.12 + NumPy 2 + CuPy 14
(see docs/PLATFORM.md). On the Jetson stacks (NumPy 1.x) nothing is patched.
"""

import importlib
import os
import sys
import types

import numpy

_SCTYPES = {
    'int': [numpy.int8, numpy.int16, numpy.int32, numpy.int64],
    'uint': [numpy.uint8, numpy.uint16, numpy.uint32, numpy.uint64],
    'float': [numpy.float16, numpy.float32, numpy.float64],
    'complex': [numpy.complex64, numpy.complex128],
    'others': [bool, object, bytes, str, numpy.void],
}


def patch_numpy():
    """Add the names Chainer needs to ``numpy``; return the list of what was patched."""
    patched = []
    try:
        numpy.sctypes
    except AttributeError:
        numpy.sctypes = _SCTYPES
        patched.append('numpy.sctypes')
    try:
        importlib.import_module('numpy.distutils.system_info')
    except ImportError:
        distutils = types.ModuleType('numpy.distutils')
        system_info = types.ModuleType('numpy.distutils.system_info')
        system_info.get_info = lambda *args, **kwargs: {}
        distutils.system_info = system_info
        sys.modules.setdefault('numpy.distutils', distutils)
        sys.modules.setdefault('numpy.distutils.system_info', system_info)
        patched.append('numpy.distutils.system_info')
    return patched


def import_chainer():
    """Return the ``chainer`` module, patched for this interpreter, with its warnings quieted."""
    patch_numpy()
    # Chainer 7.8.1 pins CuPy 7.x and warns on every newer CuPy; the mismatch is deliberate.
    os.environ.setdefault('CHAINER_WARN_VERSION_MISMATCH', '0')
    import chainer
    drop_import_tracebacks()
    return chainer


def drop_import_tracebacks(prefix='chainer'):
    """Free the call stacks that Chainer's modules keep in their saved ImportErrors.

    Modules such as ``chainer.links.model.vision.vgg`` keep ``except ImportError as e`` in a
    global (PIL, ideep, scipy missing). The traceback keeps every frame of the stack that first
    imported them, up to the node's worker, with their locals: the first model loaded (VGG16:
    553 MB) then stayed in memory after being released. The message stays; the frames go.
    """
    for name, module in list(sys.modules.items()):
        if module is None or not (name == prefix or name.startswith(prefix + '.')):
            continue
        for value in list(vars(module).values()):
            if isinstance(value, BaseException) and value.__traceback__ is not None:
                value.__traceback__ = None
