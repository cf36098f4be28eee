# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Start and stop the package's nodes as separate processes (make bench, tests).

This is what ``ros2 launch`` does on a ROS machine; here launch is not installable, so the
benchmark runner and the end-to-end tests use this small equivalent.
"""

import io
import os
import signal
import subprocess
import sys
import tempfile
import time

CONFIG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'config')
# Fast DDS 3 (Kilted+) reads FASTDDS_...; the Fast DDS 2.x of Foxy..Jazzy read FASTRTPS_...
FASTDDS_PROFILE_VARS = ('FASTDDS_DEFAULT_PROFILES_FILE', 'FASTRTPS_DEFAULT_PROFILES_FILE')
PROFILE_VARS = FASTDDS_PROFILE_VARS + ('CYCLONEDDS_URI',)
OLD_FASTDDS_DISTROS = ('foxy', 'galactic', 'humble', 'iron', 'jazzy')
CYCLONE_BUFFER = 4 * 1024 * 1024


def ros_args(namespace=None, params=None, name=None):
    """``--ros-args`` for a namespace, a node name and ``{param: value}``."""
    args = ['--ros-args']
    if namespace:
        args += ['-r', '__ns:=' + namespace]
    if name:
        args += ['-r', '__node:=' + name]
    for key, value in (params or {}).items():
        if isinstance(value, bool):
            value = 'true' if value else 'false'
        elif isinstance(value, (list, tuple)):
            value = '[' + ','.join(repr(float(v)) for v in value) + ']'
        elif isinstance(value, str):
            value = "'%s'" % value.replace("'", "''")  # a YAML string, whatever it holds
        args += ['-p', '%s:=%s' % (key, value)]
    return args


def side_by_side(namespace, backend, backends=''):
    """Return ``([(node namespace, backend)], image topic)`` for classifier.launch.py.

    One classifier in ``namespace``, or with ``backends`` (``'chainer,onnxruntime'``) one per
    backend in ``<namespace>/<backend>``; all subscribe to the one camera topic
    ``<namespace>/image``.
    """
    namespace = namespace.strip('/')
    image = '/' + '/'.join([p for p in (namespace, 'image') if p])
    names = [b.strip() for b in backends.split(',') if b.strip()]
    if not names:
        return [(namespace, backend)], image
    return [('/' + '/'.join([p for p in (namespace, name) if p]), name) for name in names], image


def large_frame_env(environ=None):
    """Point Fast DDS / Cyclone DDS at the shipped large-frame profiles unless the user did.

    Both processes of a best-effort camera stream need it (see README, "Camera-sized frames").
    """
    env = dict(os.environ if environ is None else environ)
    config = share_config_dir()
    fastdds = os.path.join(config, 'fastdds_large_frames.xml')
    if not any(env.get(name) for name in FASTDDS_PROFILE_VARS):
        for name in fastdds_profile_vars(env):
            env[name] = fastdds
    # The Cyclone profile asks for a 4 MiB receive buffer, which Cyclone treats as a minimum:
    # only point at it where the kernel allows that much, or nodes would fail to start.
    if not env.get('CYCLONEDDS_URI') and rmem_max() >= CYCLONE_BUFFER:
        env['CYCLONEDDS_URI'] = 'file://' + os.path.join(config, 'cyclonedds_large_frames.xml')
    return env


def fastdds_profile_vars(env):
    """Return the profile variable(s) the Fast DDS in use reads (2.14 ignores FASTDDS_...).

    ROS_DISTRO where it is set (a sourced ROS install); else the version of the Fast DDS wheel
    (a pip venv: ros-fastdds 3.x for Kilted, ros-fastrtps 2.x for Jazzy). Fast DDS 3 warns that
    FASTRTPS_... is deprecated, so both are set only when neither tells.
    """
    distro = env.get('ROS_DISTRO', '').lower()
    if distro:
        return FASTDDS_PROFILE_VARS[1:] if distro in OLD_FASTDDS_DISTROS else \
            FASTDDS_PROFILE_VARS[:1]
    from trt_classifier.env_info import dist_version
    version = dist_version('ros-fastdds', 'ros-fastrtps')
    if version:
        return FASTDDS_PROFILE_VARS[:1] if int(version.split('.')[0]) >= 3 else \
            FASTDDS_PROFILE_VARS[1:]
    return FASTDDS_PROFILE_VARS


def rmem_max():
    try:
        with open('/proc/sys/net/core/rmem_max') as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 0


def profile_env():
    """Only the DDS profile variables of :func:`large_frame_env` (for launch files)."""
    return {k: v for k, v in large_frame_env().items() if k in PROFILE_VARS}


def share_config_dir():
    """config/ of the source tree, or share/trt_classifier/config of an installed package."""
    if os.path.isfile(os.path.join(CONFIG_DIR, 'fastdds_large_frames.xml')):
        return CONFIG_DIR
    from ament_index_python.packages import get_package_share_directory
    return os.path.join(get_package_share_directory('trt_classifier'), 'config')


class NodeProcess(object):
    """One node in its own process; output goes to a log file that ``output()`` returns."""

    def __init__(self, module, args=(), env=None, log_dir=None, prefix=(), cwd=None):
        """``prefix``: a command the interpreter runs under, e.g. ``['taskset', '-c', '0']``.

        ``cwd``: the directory it runs in; ``python -m`` imports from there first.
        """
        self.module = module
        self.log = tempfile.NamedTemporaryFile(
            mode='w+', prefix=module.split('.')[-1] + '-', suffix='.log', dir=log_dir,
            delete=False)
        self.proc = subprocess.Popen(
            list(prefix) + [sys.executable, '-u', '-m', module] + list(args), stdout=self.log,
            stderr=subprocess.STDOUT, env=env, start_new_session=True, cwd=cwd)

    @property
    def pid(self):
        return self.proc.pid

    def poll(self):
        return self.proc.poll()

    def output(self):
        with io.open(self.log.name, encoding='utf-8', errors='replace') as f:
            return f.read()

    def stop(self, sig=signal.SIGINT, timeout=10.0):
        """Signal the process, wait; escalate to SIGKILL. Return ``(exit_code, seconds)``."""
        start = time.monotonic()
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        return self.proc.returncode, time.monotonic() - start

    def wait(self, timeout=None):
        return self.proc.wait(timeout)

    def cleanup(self):
        if self.proc.poll() is None:
            self.stop(signal.SIGKILL, 5.0)
        self.log.close()
        try:
            os.unlink(self.log.name)
        except OSError:
            pass
