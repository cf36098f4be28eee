# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""ONNX Runtime's profiler trace and graphs -> layers, on a trace recorded from the real profiler.

(test/data/profiles/ by tools/record_profiles.py; test_profiling.py checks the whole result.)
"""

import json
import os

import pytest

from trt_classifier.backends import onnxruntime_layers
from trt_classifier.errors import ClassifierError

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'profiles')


@pytest.fixture(scope='module')
def ort_raw():
    with open(os.path.join(DATA, 'squeezenet1_1-onnxruntime-cpu.json')) as f:
        return json.load(f)


def test_ort_recorded_trace(ort_raw):
    trace = onnxruntime_layers.parse_ort_trace(ort_raw['events'])
    runs = sorted((e for e in ort_raw['events'] if e['name'] == 'model_run'),
                  key=lambda e: e['ts'])
    assert len(runs) == 3 and trace['runs'] == 2  # warm-up dropped
    assert trace['wall_ms'] == pytest.approx((runs[1]['dur'] + runs[2]['dur']) / 2000.0)
    assert trace['executed_per_run'] == [39, 39]
    first = trace['nodes'][0]
    durations = [e['dur'] for e in ort_raw['events'] if e['name'] == first['name'] +
                 '_kernel_time' and e['ts'] >= runs[1]['ts']]
    assert first['ms'] == pytest.approx(sum(durations) / 2000.0)
    assert first['op'] == 'Conv' and first['provider'] == 'CPUExecutionProvider'


def test_ort_fusion_map_reports_folded_nodes():
    original = {'initializers': ['w'], 'nodes': [
        {'name': 'Conv_0', 'op': 'Conv', 'inputs': ['x', 'w'], 'outputs': ['c']},
        {'name': 'Identity_0', 'op': 'Identity', 'inputs': ['c'], 'outputs': ['i']},
        {'name': 'Relu_0', 'op': 'Relu', 'inputs': ['i'], 'outputs': ['y']}]}
    optimized = {'nodes': [{'name': 'fused Conv_0', 'op': 'FusedConv', 'activation': 'Relu',
                            'inputs': ['x', 'w'], 'outputs': ['y']}]}
    groups, removed = onnxruntime_layers.ort_fusion_map(original, optimized)
    # the Relu is found through the unclaimed Identity, which is reported as part of the path
    assert groups == {'fused Conv_0': ['Conv_0', 'Identity_0', 'Relu_0']}
    assert removed == []
    optimized['nodes'][0].pop('activation')
    groups, removed = onnxruntime_layers.ort_fusion_map(original, optimized)
    assert groups == {'fused Conv_0': ['Conv_0']} and removed == ['Identity_0', 'Relu_0']


def test_ort_trace_errors():
    def run(ts):
        return {'cat': 'Session', 'name': 'model_run', 'ts': ts, 'dur': 5}

    with pytest.raises(ClassifierError, match='model_run'):
        onnxruntime_layers.parse_ort_trace([run(0)])
    with pytest.raises(ClassifierError, match='kernel_time'):
        onnxruntime_layers.parse_ort_trace([run(0), run(10)])
