# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""CPU time and memory of processes and of the machine, read from Linux ``/proc``.

One module for every figure the package reports about resources: the classifier node's
``rss_mb``/``peak_rss_mb`` diagnostics, the peak memory of a load/export/build step, the
benchmarks' per-process CPU time and peak memory. The ``parse_*`` functions are pure (text in,
numbers out; tested on recorded ``/proc`` text); the ``read_*`` functions read ``/proc``;
:class:`Sampler` samples several processes and the machine from a background thread over a
window. Sizes are in MB (10^6 bytes), times in seconds. Elsewhere than Linux the readers return
NaN / None rather than raising.

CUDA and TensorRT memory on a Jetson is not in RSS (it is nvmap memory): read it with tegrastats
(see README, "Running on a Jetson Nano").
"""

import collections
import os
import subprocess
import threading
import time

KB = 1024.0 / 1e6  # one /proc kB in MB
NAN = float('nan')


def thread_cpu_s():
    """CPU seconds of the calling thread (``time.thread_time`` of Python 3.7+)."""
    return time.clock_gettime(time.CLOCK_THREAD_CPUTIME_ID)


def clock_ticks():
    try:
        return float(os.sysconf('SC_CLK_TCK'))
    except (AttributeError, ValueError, OSError):
        return 100.0


def parse_stat(text, ticks=None):
    """``/proc/<pid>/stat`` -> {'user_s', 'system_s', 'cpu_s', 'threads', 'state'}.

    The command name (field 2) may hold spaces and parentheses: fields are counted after the
    last ``)``.
    """
    ticks = ticks or clock_ticks()
    rest = text[text.rindex(')') + 2:].split()
    # rest[0] is field 3 (state); utime, stime are fields 14, 15; num_threads is field 20
    user, system = int(rest[11]) / ticks, int(rest[12]) / ticks
    return {'state': rest[0], 'user_s': user, 'system_s': system, 'cpu_s': user + system,
            'threads': int(rest[17])}


def parse_status(text):
    """``/proc/<pid>/status`` -> {'rss_mb', 'peak_rss_mb', 'swap_mb', 'name'} (NaN if absent).

    peak_rss_mb is VmHWM, the kernel's high-water mark of the resident set.
    """
    fields = {}
    for line in text.splitlines():
        key, _sep, value = line.partition(':')
        fields[key] = value.strip()

    def mb(key):
        value = fields.get(key, '')
        return int(value.split()[0]) * KB if value else NAN

    return {'name': fields.get('Name', ''), 'rss_mb': mb('VmRSS'), 'peak_rss_mb': mb('VmHWM'),
            'swap_mb': mb('VmSwap')}


def parse_cpu_line(text):
    """Return ``(busy_ticks, total_ticks)`` from the machine line of ``/proc/stat``.

    idle and iowait count as not busy; guest time is already inside user time.
    """
    for line in text.splitlines():
        if line.startswith('cpu '):
            values = [int(v) for v in line.split()[1:]]
            total = sum(values[:8])  # user nice system idle iowait irq softirq steal
            idle = values[3] + (values[4] if len(values) > 4 else 0)
            return total - idle, total
    raise ValueError('no "cpu " line in /proc/stat text')


def parse_meminfo(text):
    """``/proc/meminfo`` -> {'MemTotal': MB, 'MemAvailable': MB, 'SwapTotal': MB, ...}."""
    out = {}
    for line in text.splitlines():
        key, _sep, value = line.partition(':')
        parts = value.split()
        if parts and parts[0].isdigit():
            out[key] = int(parts[0]) * (KB if parts[1:] == ['kB'] else 1e-6)
    return out


def _read(path):
    with open(path) as f:
        return f.read()


def _proc(pid, name):
    return '/proc/%s/%s' % (pid, name)


def read_process(pid='self'):
    """One sample of a process: cpu_s, user_s, system_s, rss_mb, peak_rss_mb, ...; None if gone."""
    try:
        sample = parse_stat(_read(_proc(pid, 'stat')))
        sample.update(parse_status(_read(_proc(pid, 'status'))))
    except (OSError, ValueError, IndexError):
        return None
    sample['time'] = time.monotonic()
    return sample


def resident_mb(pid='self'):
    """Resident memory of a process in MB, or NaN where /proc cannot tell."""
    sample = read_process(pid)
    return sample['rss_mb'] if sample else NAN


def peak_resident_mb(pid='self'):
    """Peak resident memory (VmHWM) of a process in MB, or NaN."""
    sample = read_process(pid)
    return sample['peak_rss_mb'] if sample else NAN


def reset_peak(pid='self'):
    """Reset the process's VmHWM to its current RSS (``clear_refs`` 5); False if not allowed."""
    try:
        with open(_proc(pid, 'clear_refs'), 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def machine_cpu():
    """``(busy_ticks, total_ticks)`` of the whole machine since boot, or None."""
    try:
        return parse_cpu_line(_read('/proc/stat'))
    except (OSError, ValueError):
        return None


def meminfo():
    try:
        return parse_meminfo(_read('/proc/meminfo'))
    except OSError:
        return {}


def mem_total_mb():
    """Physical memory of the machine in MB (NaN where unknown)."""
    return meminfo().get('MemTotal', NAN)


def jetson_gpu_load():
    """GPU load 0..100 % of a Jetson (``/sys/devices/.../load``, per mille), or None elsewhere."""
    for path in ('/sys/devices/gpu.0/load', '/sys/devices/platform/gpu.0/load'):
        try:
            return int(_read(path).strip()) / 10.0
        except (OSError, ValueError):
            continue
    return None


class StepPeak(object):
    """Peak RSS of one step of this process: ``with StepPeak() as step: ...; step.peak_mb``.

    The kernel's high-water mark is reset before the step, so the figure is the step's own;
    steps may nest (an export inside a backend load), and :func:`process_peak_mb` still returns
    the peak since the process started. Where the reset is not allowed, the figure is the
    process's peak so far (``step.exact`` False).
    """

    def __init__(self):
        self.peak_mb, self.exact, self.seconds = NAN, False, NAN
        self._seen = 0.0
        self._start = None

    def __enter__(self):
        with _PEAK_LOCK:
            _note_peak()
            self.exact = reset_peak()
            _OPEN_STEPS.append(self)
        self._start = time.monotonic()
        return self

    def __exit__(self, *exc):
        with _PEAK_LOCK:
            hwm = _note_peak()
            _OPEN_STEPS.remove(self)
            self.peak_mb = max(self._seen, hwm)
        self.seconds = time.monotonic() - self._start
        return False


PROCESS_PEAK = [0.0]  # the highest VmHWM seen before any StepPeak reset, MB
_OPEN_STEPS = []
_PEAK_LOCK = threading.RLock()


def _note_peak():
    """Fold the current VmHWM into the process peak and every open step; return it."""
    peak = peak_resident_mb()
    if peak != peak:  # NaN: no /proc
        return 0.0
    with _PEAK_LOCK:
        PROCESS_PEAK[0] = max(PROCESS_PEAK[0], peak)
        for step in _OPEN_STEPS:
            step._seen = max(step._seen, peak)
    return peak


def process_peak_mb():
    """Peak RSS of this process since it started (across StepPeak's resets), MB, or NaN."""
    _note_peak()
    return PROCESS_PEAK[0] or NAN


ProcessStats = collections.namedtuple('ProcessStats', [
    'pid', 'name', 'samples', 'duration_s', 'cpu_s', 'cpu_percent', 'rss_mb', 'mean_rss_mb',
    'peak_rss_mb', 'exited'])


class Sampler(object):
    """Sample processes and the machine from a background thread, every ``interval_s``.

    ``Sampler({'chainer': pid, 'bench': pid2})``; ``start()``, then ``stop()`` returns
    ``{'processes': {name: ProcessStats._asdict()}, 'machine_cpu_percent', 'cores',
    'gpu_load_percent', 'duration_s'}`` over the window between start and stop. CPU percent is
    of one core (200 % = two cores busy). Peak RSS is VmHWM (exact, not sampled); a process that
    exits keeps its last sample (``exited`` True).
    """

    def __init__(self, pids, interval_s=0.5):
        self.pids = collections.OrderedDict(
            pids.items() if isinstance(pids, dict) else ((str(p), p) for p in pids))
        self.interval_s = float(interval_s)
        self._first, self._last, self._rss = {}, {}, {}
        self._machine = [None, None]
        self._gpu = []
        self._stop = threading.Event()
        self._thread = None
        self._lock = threading.Lock()

    def start(self):
        self._tick()
        self._thread = threading.Thread(target=self._loop, name='resources', daemon=True)
        self._thread.start()
        return self

    def _loop(self):
        while not self._stop.wait(self.interval_s):
            self._tick()

    def _tick(self):
        with self._lock:
            for name, pid in self.pids.items():
                sample = read_process(pid)
                if sample is None:
                    continue
                self._first.setdefault(name, sample)
                self._last[name] = sample
                self._rss.setdefault(name, []).append(sample['rss_mb'])
            cpu = machine_cpu()
            if cpu is not None:
                self._machine[0] = self._machine[0] or cpu
                self._machine[1] = cpu
            gpu = jetson_gpu_load()
            if gpu is not None:
                self._gpu.append(gpu)

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._tick()
        return self.summary()

    def summary(self):
        with self._lock:
            processes = collections.OrderedDict()
            for name, pid in self.pids.items():
                first, last = self._first.get(name), self._last.get(name)
                if first is None:
                    processes[name] = None
                    continue
                duration = last['time'] - first['time']
                cpu = last['cpu_s'] - first['cpu_s']
                rss = self._rss[name]
                processes[name] = ProcessStats(
                    pid, last['name'], len(rss), duration, cpu,
                    100.0 * cpu / duration if duration > 0 else NAN, last['rss_mb'],
                    sum(rss) / len(rss), max([last['peak_rss_mb']] + rss),
                    read_process(pid) is None)._asdict()
            machine = NAN
            first, last = self._machine
            if first and last and last[1] > first[1]:
                machine = 100.0 * (last[0] - first[0]) / (last[1] - first[1])
            return collections.OrderedDict([
                ('processes', processes), ('machine_cpu_percent', machine),
                ('cores', os.cpu_count()),
                ('gpu_load_percent', sum(self._gpu) / len(self._gpu) if self._gpu else None)])

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def run_measured(command, env=None, timeout=None, cwd=None):
    """Run ``command`` to completion; return its exit code, output, peak RSS, CPU and seconds.

    The peak is the kernel's ``ru_maxrss`` of that child (``wait4``): exact, whatever the
    child's lifetime. Returns ``{'returncode', 'output', 'peak_rss_mb', 'cpu_s', 'seconds'}``.
    """
    start = time.monotonic()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            cwd=cwd)
    chunks = []
    reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()), daemon=True)
    reader.start()
    deadline = None if timeout is None else start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if deadline is not None and time.monotonic() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    proc.returncode = (os.WEXITSTATUS(status) if os.WIFEXITED(status)
                       else -os.WTERMSIG(status))
    reader.join(5.0)
    proc.stdout.close()
    return {'returncode': proc.returncode,
            'output': b''.join(chunks).decode('utf-8', 'replace'),
            'peak_rss_mb': usage.ru_maxrss * KB,  # kB on Linux
            'cpu_s': usage.ru_utime + usage.ru_stime, 'seconds': time.monotonic() - start}
