# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""ament-style linters, a copyright check and a Python 3.6 syntax/stdlib check.

flake8 runs with ament's settings (setup.cfg) and pep257 docstring checks (flake8-docstrings);
vermin checks that runtime code, launch files and tests need nothing newer than Python 3.6.
"""

import glob
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = sorted(
    glob.glob(os.path.join(ROOT, 'trt_classifier', '**', '*.py'), recursive=True) +
    glob.glob(os.path.join(ROOT, 'test', '*.py')) +
    glob.glob(os.path.join(ROOT, 'test', 'launch', '*.py')) +
    glob.glob(os.path.join(ROOT, 'launch', '*.py')) +
    glob.glob(os.path.join(ROOT, 'tools', '*.py')) + [os.path.join(ROOT, 'setup.py')])

pytestmark = pytest.mark.linter


def _tool(name):
    """Return the linter's path; skip if missing (colcon test) unless `make test` runs."""
    import shutil
    path = os.path.join(os.path.dirname(sys.executable), name)
    path = path if os.path.exists(path) else shutil.which(name)
    if path is None:
        if os.environ.get('TRT_CLASSIFIER_REQUIRE_LINTERS'):
            pytest.fail('%s is not installed (make test installs it)' % name)
        pytest.skip('%s is not installed: pip install %s (make test does)' % (name, name))
    return path


def _run(args):
    proc = subprocess.run(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return proc.returncode, proc.stdout.decode('utf-8', 'replace')


def test_flake8():
    code, out = _run([_tool('flake8')] + SOURCES)
    assert code == 0, out


def test_copyright_headers():
    missing = []
    for path in SOURCES:
        with open(path) as f:
            head = f.read(300)
        if 'Copyright 2026 The trt_classifier Authors' not in head or \
                'SPDX-License-Identifier: Apache-2.0' not in head:
            missing.append(os.path.relpath(path, ROOT))
    assert not missing, 'no copyright/SPDX header: %s' % missing


def test_runs_on_python_36():
    """Runtime code, launch files and tests use only Python 3.6 syntax and stdlib."""
    targets = [p for p in SOURCES if not p.startswith(os.path.join(ROOT, 'tools'))]
    vermin = _tool('vermin')
    code, out = _run([vermin, '--no-tips', '--violations', '--eval-annotations', '-t=3.6-'] +
                     targets)
    assert code == 0, out
