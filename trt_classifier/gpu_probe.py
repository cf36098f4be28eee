# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Which CUDA GPUs this machine has, asked of the driver (``libcuda``) directly through ctypes.

Needs neither pycuda nor CuPy nor a TensorRT runtime, so the tensorrt backend can say "no GPU" or
"unsupported compute capability" in one line before it imports anything that needs a GPU, and
``trt-classifier env`` can report it on any machine.
"""

import ctypes

_ATTR_CC_MAJOR = 75  # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR (cuda.h)
_ATTR_CC_MINOR = 76  # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR


def _error(lib, code):
    text = ctypes.c_char_p()
    try:
        if lib.cuGetErrorString(code, ctypes.byref(text)) == 0 and text.value:
            return '%s (CUresult %d)' % (text.value.decode('utf-8', 'replace'), code)
    except AttributeError:  # a driver without cuGetErrorString
        pass
    return 'CUresult %d' % code


def probe_gpus(library='libcuda.so.1'):
    """Return ``(gpus, reason)``: ``[(name, 'major.minor'), ...]`` and '' or why there are none."""
    try:
        lib = ctypes.CDLL(library)
    except OSError as exc:
        return [], 'no CUDA GPU (no CUDA driver: %s)' % exc
    code = lib.cuInit(0)
    if code != 0:
        return [], 'the CUDA driver did not initialise: %s' % _error(lib, code)
    count = ctypes.c_int(0)
    code = lib.cuDeviceGetCount(ctypes.byref(count))
    if code != 0 or count.value < 1:
        return [], 'no CUDA GPU (%s)' % (_error(lib, code) if code else 'the driver sees none')
    gpus = []
    for index in range(count.value):
        device = ctypes.c_int(0)
        name = ctypes.create_string_buffer(256)
        major, minor = ctypes.c_int(0), ctypes.c_int(0)
        if (lib.cuDeviceGet(ctypes.byref(device), index) or
                lib.cuDeviceGetName(name, len(name), device) or
                lib.cuDeviceGetAttribute(ctypes.byref(major), _ATTR_CC_MAJOR, device) or
                lib.cuDeviceGetAttribute(ctypes.byref(minor), _ATTR_CC_MINOR, device)):
            return gpus, 'GPU %d could not be queried' % index
        gpus.append((name.value.decode('utf-8', 'replace'), '%d.%d' % (major.value, minor.value)))
    return gpus, ''
