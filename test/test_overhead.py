# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""trt-classifier overhead: the echo node and the side-by-side run, its table, its arguments."""

import os
import subprocess
import sys

import pytest

from trt_classifier import overhead
from trt_classifier.cli import main as cli_main


@pytest.mark.ros
@pytest.mark.timeout(300)
def test_null_classifier_and_echo_node_side_by_side():
    """Real nodes over DDS: both answer every frame; the classifier reports its own cost."""
    lines = []
    out = overhead.measure_cpu((224, 224), frames=12, warmup=3, log=lines.append)
    assert out['frame'] == '224x224 rgb8' and out['frames'] == 12
    assert 0 < out['node_cpu_ms'] and 0 < out['node_ms'] < out['roundtrip_ms']
    assert out['preprocess_ms'] > 0 and out['echo_roundtrip_ms'] > 0
    assert out['roundtrip_ratio'] == out['roundtrip_ms'] / out['echo_roundtrip_ms']
    for name in ('null', 'echo'):  # both processes were found and sampled
        value = out['%s_process_cpu_ms_per_frame' % name]
        assert value == value and value >= 0
    assert 'round trip' in lines[0] and 'vs echo' in lines[0]


@pytest.mark.ros
@pytest.mark.timeout(300)
def test_baseline_classifier_runs_beside_the_others():
    """--baseline: a third node, its own figures, every frame answered by all three."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    lines = []
    out = overhead.measure_cpu((64, 48), frames=9, warmup=2, log=lines.append, baseline=here)
    base = out['baseline']
    assert 0 < base['node_cpu_ms'] and 0 < base['node_ms'] < base['roundtrip_ms']
    assert base['roundtrip_ratio'] == base['roundtrip_ms'] / out['echo_roundtrip_ms']
    assert base['process_cpu_ms_per_frame'] >= 0 and out['node_cpu_ms'] > 0
    assert len(lines) == 2 and ', baseline: node ' in lines[1]


def test_source_tree_is_imported_even_when_run_inside_another_checkout(tmp_path):
    """``python -m`` puts its directory first: --source's processes run in the source tree."""
    package = tmp_path / 'trt_classifier'
    package.mkdir()
    (package / '__init__.py').write_text('')
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # this checkout
    probe = [sys.executable, '-c', 'import trt_classifier; print(trt_classifier.__file__)']
    mine = os.path.join(here, 'trt_classifier')
    for source, expected in ((str(tmp_path), str(package)), (None, mine)):
        child = overhead._child(source)
        out = subprocess.check_output(probe, env=child['env'], cwd=child['cwd'] or here)
        assert os.path.dirname(out.decode().strip()) == expected


def test_render_lists_runs_steps_and_failures():
    env = {'cpu': 'test cpu', 'cpu_count': 2, 'platform': 'linux', 'python': '3.11',
           'ros_distro': 'kilted', 'versions': {'numpy': '1.26.4', 'tensorrt': None}}
    run = {'frame': '224x224 rgb8', 'pin_core': 1, 'node_cpu_ms': 0.8, 'node_ms': 1.5,
           'null_process_cpu_ms_per_frame': 2.6, 'echo_process_cpu_ms_per_frame': 1.2,
           'roundtrip_ms': 4.0, 'echo_roundtrip_ms': 2.0, 'roundtrip_ratio': 2.0}
    result = {'frames': 300, 'environment': env, 'mem_total_mb': 4044.0, 'source': None,
              'cpu': [run, dict(run, pin_core=None, node_cpu_ms=None)],
              'memory': [{'step': 'export vgg16', 'peak_rss_mb': 860.2, 'ok': True},
                         {'step': 'build-engine vgg16 fp16', 'peak_rss_mb': 90.0, 'ok': False}]}
    text = overhead.render(result)
    assert '| 224x224 rgb8 | core 1 | 0.800 | 1.500 | 2.600 | 1.200 | 4.000 | 2.000 | 2.00x |' \
        in text
    assert '| 224x224 rgb8 | - | - | 1.500 |' in text  # a node that does not report its cost
    assert '| export vgg16 | 860 | - |' in text
    assert '| build-engine vgg16 fp16 (FAILED) | 90 | - |' in text
    assert 'memory 4.0 GB' in text and 'numpy 1.26.4' in text and 'tensorrt' not in text
    assert 'Node CPU' not in overhead.render(dict(result, cpu=[]))  # --runs 0: memory only
    base = dict(run, baseline={'node_cpu_ms': 0.9, 'node_ms': 1.6, 'roundtrip_ms': 5.0,
                               'roundtrip_ratio': 2.5, 'process_cpu_ms_per_frame': 2.7})
    text = overhead.render(dict(result, cpu=[base], baseline='/old/tree'))
    assert '| 224x224 rgb8, baseline | core 1 | 0.900 | 1.600 | 2.700 | 1.200 | 5.000 | 2.000 | ' \
        '2.50x |' in text and 'Baseline classifier run from source tree /old/tree' in text


def test_bad_sizes_are_named(capsys):
    assert cli_main(['overhead', '--sizes', '224by224', '--runs', '0']) == 2
    assert "--sizes takes WIDTHxHEIGHT,..., not '224by224'" in capsys.readouterr().err


def test_echo_entry_point_explains_itself(capsys):
    assert overhead.main([]) == 2
    assert 'trt-classifier overhead' in capsys.readouterr().err
