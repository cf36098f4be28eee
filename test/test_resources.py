# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""resources: /proc parsers on recorded text, then a real process sampled while it works."""

import math
import mmap
import subprocess
import sys
import time

import numpy
import pytest

from trt_classifier import resources

# Recorded on the 2-core test machine (Linux 6.18); the command name holds a space and a ')'.
STAT = ('30156 (python3 a) b) R 30154 30154 2456 0 -1 4194304 125 0 0 0 250 75 0 0 20 0 7 0 '
        '174469 3133440 382 18446744073709551615 94366988361728 94366988381609 0 0 0 0 0 0 0 0 '
        '0 17 0 0 0 0 0 0')
STATUS = ('Name:\tpython3\nUmask:\t0022\nState:\tS (sleeping)\nVmPeak:\t 2000000 kB\n'
          'VmHWM:\t  1048576 kB\nVmRSS:\t   524288 kB\nVmSwap:\t       0 kB\nThreads:\t7\n')
PROC_STAT = ('cpu  285761 1820 36121 16255 1613 0 533 6641 0 0\n'
             'cpu0 141500 58 18580 10119 694 0 120 3319 0 0\nintr 1 2 3\n')
MEMINFO = 'MemTotal:        4044136 kB\nMemAvailable:    2000000 kB\nHugePages_Total:       0\n'


def test_parse_stat_counts_fields_after_the_last_parenthesis():
    stat = resources.parse_stat(STAT, ticks=100)
    assert stat['state'] == 'R' and stat['threads'] == 7
    assert stat['user_s'] == pytest.approx(2.5) and stat['system_s'] == pytest.approx(0.75)
    assert stat['cpu_s'] == pytest.approx(3.25)


def test_parse_status_reads_rss_and_the_high_water_mark():
    status = resources.parse_status(STATUS)
    assert status['name'] == 'python3'
    assert status['peak_rss_mb'] == pytest.approx(1048576 * 1024 / 1e6)
    assert status['rss_mb'] == pytest.approx(524288 * 1024 / 1e6)
    assert status['swap_mb'] == 0
    assert math.isnan(resources.parse_status('Name:\tkthreadd\n')['rss_mb'])  # kernel thread


def test_parse_cpu_line_and_meminfo():
    busy, total = resources.parse_cpu_line(PROC_STAT)
    assert total == 285761 + 1820 + 36121 + 16255 + 1613 + 0 + 533 + 6641
    assert busy == total - 16255 - 1613
    with pytest.raises(ValueError):
        resources.parse_cpu_line('intr 1 2\n')
    info = resources.parse_meminfo(MEMINFO)
    assert info['MemTotal'] == pytest.approx(4044136 * 1024 / 1e6)
    assert info['HugePages_Total'] == 0


def test_step_peak_measures_one_step_and_keeps_the_process_peak():
    with resources.StepPeak() as outer:
        big = mmap.mmap(-1, 60 * 1000 * 1000)  # fresh pages (malloc could reuse resident ones)
        big.write(b'x' * len(big))  # touched: resident
        big.close()
        with resources.StepPeak() as inner:
            small = numpy.ones(1000)
            del small
    if outer.exact:  # clear_refs allowed (Linux >= 4.0)
        assert inner.peak_mb < outer.peak_mb - 40  # the inner step did not allocate 60 MB
    assert outer.peak_mb >= 55 and outer.seconds >= 0
    assert resources.process_peak_mb() >= outer.peak_mb


def test_sampler_on_a_real_busy_process():
    """A child that allocates 80 MB and spins: its CPU time, RSS and peak are seen."""
    code = ('import time, numpy\n'
            'a = numpy.ones(80 * 1000 * 1000 // 8)\n'
            'end = time.time() + 1.5\n'
            'while time.time() < end:\n'
            '    pass\n')
    child = subprocess.Popen([sys.executable, '-c', code])
    try:
        sampler = resources.Sampler({'child': child.pid}, interval_s=0.05).start()
        time.sleep(1.0)
        summary = sampler.stop()
    finally:
        child.wait(30)
    stats = summary['processes']['child']
    assert stats['samples'] >= 5 and stats['cpu_s'] > 0.05  # a busy child, on a shared machine
    # one busy thread: about one core. /proc counts CPU time in 10 ms ticks and the window is
    # ~1 s, so allow generous jitter; two busy cores would read ~200%
    assert 5 < stats['cpu_percent'] <= 150
    assert stats['peak_rss_mb'] >= 80 and stats['peak_rss_mb'] >= stats['mean_rss_mb']
    assert 0 < summary['machine_cpu_percent'] <= 100 and summary['cores'] >= 1
    assert resources.read_process(child.pid) is None  # reaped: gone
    assert resources.read_process()['rss_mb'] > 0 and resources.resident_mb() > 0


def test_a_process_that_never_existed_is_reported_as_none():
    summary = resources.Sampler({'ghost': 2 ** 22 + 12345}).start().stop()
    assert summary['processes']['ghost'] is None


def test_run_measured_reports_the_childs_peak_and_exit_code():
    code = ('import numpy, sys\n'
            'a = numpy.ones(120 * 1000 * 1000 // 8)\n'
            'print("allocated")\n'
            'sys.exit(3)\n')
    result = resources.run_measured([sys.executable, '-c', code], timeout=60)
    assert result['returncode'] == 3 and 'allocated' in result['output']
    assert result['peak_rss_mb'] >= 120 and result['cpu_s'] > 0 and result['seconds'] > 0
