# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""The machine and software a figure was measured on (recorded with every benchmark)."""

import collections
import importlib
import os
import platform
import socket
import subprocess


def _read(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace').strip('\x00\n ')
    except OSError:
        return None


def cpu_name():
    text = _read('/proc/cpuinfo') or ''
    for line in text.splitlines():
        if line.lower().startswith(('model name', 'hardware')):
            return line.split(':', 1)[1].strip()
    return platform.processor() or platform.machine()


def _run(cmd):
    try:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=5)
        return out.stdout.decode('utf-8', 'replace').strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def dist_version(*names):
    """Return the installed version of the first distribution found in ``names``, or None."""
    for name in names:
        try:
            try:
                from importlib import metadata  # novermin (guarded: Python >= 3.8)
                return metadata.version(name)
            except ImportError:  # Python 3.6/3.7 (JetPack 4.6): setuptools' pkg_resources
                import pkg_resources
                return pkg_resources.get_distribution(name).version
        except Exception:  # not installed under that name (PackageNotFoundError, ...)
            continue
    return None


# Modules without __version__: the distribution that installs them.
DISTRIBUTIONS = {'rclpy': ('rclpy', 'ros-rclpy')}


def _version(module):
    try:
        if module == 'chainer':
            from trt_classifier.compat import import_chainer
            return import_chainer().__version__
        found = getattr(importlib.import_module(module), '__version__', None)
        return found or dist_version(*DISTRIBUTIONS.get(module, (module,))) or 'unknown'
    except Exception:  # a broken optional runtime is reported, not fatal
        return None


def gpu_info():
    """GPU names and CUDA/cuDNN versions where CuPy or nvidia-smi can tell."""
    info = collections.OrderedDict()
    names = _run(['nvidia-smi', '--query-gpu=name,driver_version', '--format=csv,noheader'])
    if names:
        info['gpus'] = names.splitlines()
    try:
        import cupy
        runtime = cupy.cuda.runtime
        info['cuda_runtime'] = runtime.runtimeGetVersion()
        info['gpu0'] = runtime.getDeviceProperties(0)['name'].decode()
        try:
            info['cudnn'] = cupy.cuda.cudnn.getVersion()
        except Exception:  # CuPy 14 has no cuDNN module
            info['cudnn'] = None
    except Exception:  # no CuPy or no GPU
        pass
    return info


def jetson_info():
    model = _read('/proc/device-tree/model')
    if not model:
        return None
    return {'model': model, 'l4t': _read('/etc/nv_tegra_release'),
            'power_mode': _run(['nvpmodel', '-q'])}


def environment():
    return collections.OrderedDict([
        ('host', socket.gethostname()),
        ('platform', platform.platform()),
        ('machine', platform.machine()),
        ('cpu', cpu_name()),
        ('cpu_count', os.cpu_count()),
        ('python', platform.python_version()),
        ('ros_distro', os.environ.get('ROS_DISTRO') or _ros_distro_from_wheels()),
        ('rmw', os.environ.get('RMW_IMPLEMENTATION', 'default')),
        ('versions', collections.OrderedDict(
            (m, _version(m)) for m in ('numpy', 'chainer', 'cupy', 'onnx', 'onnxruntime',
                                       'tensorrt', 'tensorrt_rtx', 'cv2', 'rclpy'))),
        ('tensorrt_runtime', tensorrt_runtime()),
        ('gpu', gpu_info()),
        ('jetson', jetson_info()),
    ])


def tensorrt_runtime():
    """``'TensorRT 8.2.1'`` / ``'TensorRT-RTX 1.7.1'``: what backend:=tensorrt picks; else None."""
    try:
        from trt_classifier.backends.tensorrt_backend import import_trt, runtime_label
        return runtime_label(import_trt())
    except Exception:  # neither runtime importable
        return None


def tensorrt_runtime_summary():
    """One line: the runtime ``auto`` picks, what it builds for, and the GPUs here."""
    from trt_classifier.backends.tensorrt_backend import (
        import_trt, runtime_label, supported_compute_capabilities)
    from trt_classifier.errors import ClassifierError
    from trt_classifier.gpu_probe import probe_gpus
    try:
        trt = import_trt()
    except ClassifierError as exc:
        return 'none (%s)' % exc
    supported = supported_compute_capabilities(trt)
    gpus, reason = probe_gpus()
    return '%s; %s; GPUs here: %s' % (
        runtime_label(trt),
        'builds without a GPU, runs engines on compute capability %s' % ', '.join(supported)
        if supported else 'builds and runs engines on the GPU it runs on',
        ', '.join('%s (compute capability %s)' % gpu for gpu in gpus) or reason)


# rclpy's major version per distro (PyPI's ros-jazzy-* wheels pull ros-rclpy 7.1.x, Kilted's 9.x)
RCLPY_MAJOR_DISTRO = {'3': 'humble', '4': 'iron', '5': 'iron', '7': 'jazzy', '9': 'kilted'}


def _ros_distro_from_wheels():
    """Name the distro of the PyPI ROS wheels (no ROS_DISTRO in a pip venv), or None."""
    version = dist_version('ros-rclpy')
    if not version:
        return None
    distro = RCLPY_MAJOR_DISTRO.get(version.split('.')[0], 'unknown distro')
    return '%s (PyPI ros-rclpy %s)' % (distro, version)
