# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""GPU utilisation and Jetson power rails during a benchmark run.

The per-process CPU time and memory come from :mod:`trt_classifier.resources`; this module adds
what only some machines report:

- **GPU utilisation**: ``nvidia-smi`` on x86 (``utilization.gpu``, % of the sample period a kernel
  ran); on a Jetson the GPU load that :func:`resources.jetson_gpu_load` reads from sysfs.
- **Power rails of a Jetson** (INA3221 power monitors), in the two sysfs layouts of NVIDIA's
  Jetson Linux Developer Guide ("Software-Based Power Consumption Modeling" / power monitor
  sections):

  - JetPack 4 (L4T 32, Nano, TX1/TX2, Xavier): the ``ina3221x`` IIO driver,
    ``/sys/bus/i2c/drivers/ina3221x/<bus>-<addr>/iio:device<N>/rail_name_<c>`` with
    ``in_power<c>_input`` (mW), ``in_current<c>_input`` (mA) and ``in_voltage<c>_input`` (mV).
    The Nano's module input rail is ``POM_5V_IN``.
  - JetPack 5 and 6 (L4T 35/36, Orin): the mainline ``ina3221`` hwmon driver,
    ``/sys/bus/i2c/drivers/ina3221/<bus>-<addr>/hwmon/hwmon<N>/in<c>_label`` with
    ``in<c>_input`` (bus voltage, mV) and ``curr<c>_input`` (mA), power = V x I (the kernel's
    hwmon/ina3221 documentation gives the units). The module input rail is ``VDD_IN``.

  Energy is the power of the module's input rail (else the sum of the rails) integrated over
  the run; per answered frame it is energy / answers. The readers are tested against sysfs trees
  rebuilt from these layouts; they have **not been executed on a Jetson**.
"""

import collections
import glob
import os
import subprocess
import threading
import time

INPUT_RAILS = ('POM_5V_IN', 'VDD_IN')  # module input of the Nano (JetPack 4) and Orin (5/6)


def _read_number(path):
    with open(path) as f:
        return float(f.read().strip())


def _read_text(path):
    with open(path) as f:
        return f.read().strip()


class Rail(object):
    """One power-monitor channel: ``name`` and ``read_mw()``."""

    def __init__(self, name, power=None, voltage=None, current=None):
        self.name = name
        self.power, self.voltage, self.current = power, voltage, current

    def read_mw(self):
        if self.power:
            return _read_number(self.power)
        return _read_number(self.voltage) * _read_number(self.current) / 1000.0  # mV*mA -> mW

    def __repr__(self):
        return 'Rail(%r)' % self.name


def find_rails(root='/'):
    """Return the readable power rails under ``root`` (both JetPack layouts), or []."""
    rails = []
    sysfs = os.path.join(root, 'sys/bus/i2c/drivers')
    # JetPack 4: ina3221x IIO devices
    for device in sorted(glob.glob(os.path.join(sysfs, 'ina3221x', '*', 'iio:device*'))):
        for name_file in sorted(glob.glob(os.path.join(device, 'rail_name_*'))):
            channel = name_file.rsplit('_', 1)[1]
            power = os.path.join(device, 'in_power%s_input' % channel)
            rails.append(Rail(_read_text(name_file), power=power))
    # JetPack 5/6: ina3221 hwmon devices
    for hwmon in sorted(glob.glob(os.path.join(sysfs, 'ina3221', '*', 'hwmon', 'hwmon*'))):
        for label in sorted(glob.glob(os.path.join(hwmon, 'in*_label'))):
            channel = os.path.basename(label)[2:-len('_label')]
            name = _read_text(label)
            voltage = os.path.join(hwmon, 'in%s_input' % channel)
            current = os.path.join(hwmon, 'curr%s_input' % channel)
            if 'sum' in name.lower() or not os.path.exists(current):
                continue  # the shunt-voltage sum channel (in7) has no power of its own
            rails.append(Rail(name, voltage=voltage, current=current))
    readable = []
    for rail in rails:
        try:
            rail.read_mw()
        except (OSError, ValueError):
            continue  # root-only on some images: reported as no power figures
        readable.append(rail)
    return readable


def input_rail(rails):
    """Return the module's input rail, or None (then the rails are summed)."""
    for rail in rails:
        if rail.name.upper() in INPUT_RAILS:
            return rail
    return None


def parse_nvidia_smi(text):
    """``nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits`` -> [percent]."""
    values = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            try:
                values.append(float(line))
            except ValueError:  # '[N/A]' or '[Not Supported]'
                continue
    return values


def nvidia_smi_utilization():
    """GPU utilisation % per GPU from nvidia-smi, or None where it is missing or fails."""
    try:
        out = subprocess.run(
            ['nvidia-smi', '--query-gpu=utilization.gpu', '--format=csv,noheader,nounits'],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    values = parse_nvidia_smi(out.stdout.decode('utf-8', 'replace'))
    return values if out.returncode == 0 and values else None


def integrate(samples):
    """Trapezoidal energy in J of ``[(seconds, mW)]``."""
    energy = 0.0
    for (t0, p0), (t1, p1) in zip(samples, samples[1:]):
        energy += (t1 - t0) * (p0 + p1) / 2.0 / 1000.0
    return energy


class DeviceSampler(object):
    """Sample GPU utilisation (nvidia-smi) and Jetson power rails over a run.

    ``start()``, then ``stop(answers)`` returns ``{'gpu': {...} or None, 'energy': {...} or
    None}``. ``root`` and ``gpu_reader`` let tests point it at a rebuilt sysfs tree.
    """

    GPU_EVERY = 5  # nvidia-smi is a process start: once a second at the default interval

    def __init__(self, interval_s=0.2, root='/', gpu_reader=None):
        self.interval_s = interval_s
        self.ticks = 0
        self.rails = find_rails(root)
        self.main = input_rail(self.rails)
        self.gpu_reader = gpu_reader
        if gpu_reader is None and not self.rails:  # a Jetson has no nvidia-smi GPU load
            self.gpu_reader = nvidia_smi_utilization
        self.power, self.gpu = [], []
        self._stop = threading.Event()
        self._thread = None

    def _tick(self):
        now = time.monotonic()
        if self.rails:
            try:
                if self.main is not None:
                    mw = self.main.read_mw()
                else:
                    mw = sum(r.read_mw() for r in self.rails)
                self.power.append((now, mw))
            except (OSError, ValueError):
                pass
        self.ticks += 1
        if self.gpu_reader is not None and (self.ticks - 1) % self.GPU_EVERY == 0:
            values = self.gpu_reader()
            if values is None:
                self.gpu_reader = None  # no nvidia-smi: stop asking
            else:
                self.gpu.append(sum(values) / len(values))

    def _loop(self):
        while not self._stop.wait(self.interval_s):
            self._tick()

    def start(self):
        self._tick()
        self._thread = threading.Thread(target=self._loop, name='device-sampler', daemon=True)
        self._thread.start()
        return self

    def stop(self, answers=0):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._tick()
        gpu = None
        if self.gpu:
            gpu = collections.OrderedDict([
                ('util_percent', sum(self.gpu) / len(self.gpu)), ('max_percent', max(self.gpu)),
                ('samples', len(self.gpu)), ('source', 'nvidia-smi utilization.gpu')])
        energy = None
        if len(self.power) >= 2:
            joules = integrate(self.power)
            seconds = self.power[-1][0] - self.power[0][0]
            energy = collections.OrderedDict([
                ('rail', self.main.name if self.main else 'sum of %s' % ', '.join(
                    r.name for r in self.rails)),
                ('joules', joules), ('mean_mw', 1000.0 * joules / seconds if seconds else None),
                ('mj_per_answer', 1000.0 * joules / answers if answers else None),
                ('samples', len(self.power))])
        return collections.OrderedDict([('gpu', gpu), ('energy', energy)])
