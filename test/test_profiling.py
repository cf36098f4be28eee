# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for trt_classifier.profiling and the per-layer profilers it sums up.

Parsing and grouping run on outputs RECORDED from the real profilers by
``tools/record_profiles.py`` (test/data/profiles/: the Chainer function hook and ONNX Runtime's
profiler, random weights, CPU). TensorRT has no recorded output here (no TensorRT on these
machines): its tests parse only the name formats docs/TENSORRT.md section 4 documents.
"""

import json
import os
import sys
import types

import pytest

from trt_classifier import layer_kinds, profiling, trt_utils
from trt_classifier.backends import chainer_backend, onnxruntime_layers
from trt_classifier.errors import ClassifierError

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'profiles')


def recorded(name):
    with open(os.path.join(DATA, name)) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def chainer_raw():
    return recorded('squeezenet1_1-chainer-cpu.json')


@pytest.fixture(scope='module')
def ort_raw():
    return recorded('squeezenet1_1-onnxruntime-cpu.json')


@pytest.fixture(scope='module')
def resnet_raw():
    return recorded('resnet101-onnxruntime-cpu.json')


def test_recorded_files_stay_small():
    total = sum(os.path.getsize(os.path.join(DATA, n)) for n in os.listdir(DATA))
    assert total < 200 * 1000


# -- Chainer, recorded -------------------------------------------------------------------------

def test_chainer_recorded_hook_output(chainer_raw):
    runs = chainer_raw['runs']
    assert len(runs) == 2 and chainer_raw['recorded']['warm_up'] == 1
    result = profiling.from_raw(chainer_raw)
    assert result['executed_layers'] == 64 == len(runs[0]['calls'])
    counts = {k: g['count'] for k, g in result['grouping'].items()}
    # 26 convolutions each followed by its own ReLU, 8 fire-module concats, 3 max pools + mean
    assert counts == {'conv': 26, 'activation': 26, 'concat': 8, 'pool': 4}
    assert result['fused_layers'] == 0 and result['fusions'] == {}
    names = [layer['name'] for layer in result['layers']]
    assert names[:3] == ['/conv1', 'ReLU_0', 'MaxPoolingND_0']
    assert '/fire9/expand3x3' in names and names[-1] == 'Mean_0'
    # means per call position over the recorded runs
    first = result['layers'][0]
    assert first['ms'] == pytest.approx((runs[0]['calls'][0][2] + runs[1]['calls'][0][2]) / 2)
    total = sum(sum(c[2] for c in run['calls']) for run in runs) / 2
    assert result['layer_ms_sum'] == pytest.approx(total)
    wall = (runs[0]['wall_ms'] + runs[1]['wall_ms']) / 2
    assert result['wall_ms'] == pytest.approx(wall)
    assert result['idle_ms'] == pytest.approx(wall - total)
    assert 0.0 <= result['idle_share'] <= 1.0
    assert sum(g['share'] for g in result['grouping'].values()) == pytest.approx(1.0)


def test_chainer_runs_must_call_the_same_functions(chainer_raw):
    raw = json.loads(json.dumps(chainer_raw))
    raw['runs'][1]['calls'].pop()
    with pytest.raises(ClassifierError, match='different functions'):
        chainer_backend.chainer_layers(raw)


class FakeEvent(object):
    """Stands in for ``cupy.cuda.Event``: records its order; synchronize is counted."""

    clock = [0]
    syncs = [0]

    def record(self):
        FakeEvent.clock[0] += 1
        self.t = FakeEvent.clock[0]

    def synchronize(self):
        FakeEvent.syncs[0] += 1


def test_chainer_hook_gpu_path_uses_events_without_per_function_sync():
    chainer = pytest.importorskip('trt_classifier.compat').import_chainer()
    cuda = types.SimpleNamespace(Event=FakeEvent,
                                 get_elapsed_time=lambda start, stop: 10.0 * (stop.t - start.t))
    fake_cupy = types.SimpleNamespace(cuda=cuda)
    weight = object()
    hook = chainer_backend.layer_timer(chainer, {id(weight): '/conv1'}, fake_cupy)
    outer = types.SimpleNamespace(_impl_name='Convolution2DFunction', label='conv')
    inner = types.SimpleNamespace(_impl_name='Inner', label='inner')
    hook.forward_preprocess(outer, (object(), weight))
    hook.forward_preprocess(inner, (object(),))
    hook.forward_postprocess(inner, (object(),))  # nested: inside the outer function's time
    hook.forward_postprocess(outer, (object(), weight))
    assert FakeEvent.syncs[0] == 0  # nothing waits on the GPU during the forward
    calls = hook.collect()
    # outer start is event 1, inner start event 2 (nested: no stop), outer stop event 3
    assert calls == [['Convolution2DFunction', '/conv1', 20.0]]
    assert hook.collect() == []


# -- ONNX Runtime, recorded ----------------------------------------------------------------------

def test_ort_recorded_squeezenet_fuses_conv_relu(ort_raw):
    result = profiling.from_raw(ort_raw)
    assert result['executed_layers'] == 39
    by_name = {layer['name']: layer for layer in result['layers']}
    # ORT_ENABLE_ALL on x86: Conv + Relu -> one NCHWc Conv with activation=Relu
    fused = by_name['ReLU_1_nchwc']
    assert fused['sources'] == ['Convolution2DFunction_1', 'ReLU_1']
    assert fused['kind'] == 'conv' and fused['pattern'] == 'conv+activation'
    assert fused['op'] == 'nchwc.Conv[activation=Relu]'
    assert result['fusions'] == {'conv+activation': 26}
    counts = {k: g['count'] for k, g in result['grouping'].items()}
    # the concats still run on the CPU (TensorRT removed them in the study); no Relu left
    assert counts == {'conv': 26, 'concat': 8, 'pool': 4, 'other': 1}
    assert by_name['ReorderOutput']['sources'] == []  # inserted by ORT, no original node
    assert result['removed_nodes'] == []
    assert 0.0 <= result['idle_share'] <= 1.0
    assert result['layer_ms_sum'] == pytest.approx(sum(n['ms'] for n in result['layers']))


def test_ort_recorded_resnet101_fuses_bn_and_residual_add(resnet_raw):
    result = profiling.from_raw(resnet_raw)
    assert result['fusions'] == {'conv+bn+activation': 67, 'conv+bn+add+activation': 33,
                                 'conv+bn': 4}
    by_name = {layer['name']: layer for layer in result['layers']}
    block = by_name['FixedBatchNormalization_4_nchwc']
    assert block['sources'] == ['Convolution2DFunction_4', 'FixedBatchNormalization_4', 'Add_0',
                                'ReLU_3']
    assert block['op'] == 'nchwc.Conv[activation=Relu,sum]'
    assert by_name['FixedBatchNormalization_2_nchwc']['sources'] == [
        'Convolution2DFunction_2', 'FixedBatchNormalization_2']  # projection shortcut
    assert by_name['ReLU_0_nchwc']['sources'] == [
        'Convolution2DFunction_0', 'FixedBatchNormalization_0', 'ReLU_0']
    # every exported node is implemented by exactly one executed node
    claimed = [s for layer in result['layers'] for s in layer['sources']]
    original = onnxruntime_layers._unique(n['name'] for n in resnet_raw['original']['nodes'])
    assert sorted(claimed) == sorted(original) and result['removed_nodes'] == []
    assert set(result['grouping']) == {'conv', 'pool', 'fc', 'other'}  # no bn/add/relu left


# -- TensorRT: documented name formats only (docs/TENSORRT.md §4), NOT a recorded profile -----

@pytest.mark.parametrize('name, sources', [
    ('Conv_8 + Add_9 + Relu_10', ['Conv_8', 'Add_9', 'Relu_10']),  # verbatim from docs/TENSORRT.md
    ('Conv_1 || Conv_2', ['Conv_1', 'Conv_2']),  # ' || ' horizontal fusion
    ('PWN(Relu_10)', ['Relu_10']),  # 'PWN(...)' point-wise node
    ('Conv_8 + PWN(Add_9, Relu_10)', ['Conv_8', 'Add_9', 'Relu_10']),
    ('PWN(PWN(Add_9), Relu_10)', ['Add_9', 'Relu_10']),
    ('Conv_8', ['Conv_8']),
])
def test_split_trt_layer_name_documented_formats(name, sources):
    assert trt_utils.split_fused_name(name) == sources


def test_trt_layers_from_documented_profile_shape():
    # Input shaped like TensorRTBackend.layer_times()'s documented return value, with layer names
    # built from the docs/TENSORRT.md examples; times are test numbers, not measurements.
    prof = {'runs': 2, 'total_ms': 6.0, 'inspector': None, 'layers': [
        {'name': 'Conv_8 + Add_9 + Relu_10', 'mean_ms': 3.0, 'reports': 2, 'share': 0.5},
        {'name': 'Conv_1 || Conv_2', 'mean_ms': 2.0, 'reports': 2, 'share': 1 / 3.0},
        {'name': 'PWN(Relu_10)', 'mean_ms': 1.0, 'reports': 2, 'share': 1 / 6.0}]}
    layers = trt_utils.trt_layers(prof)
    assert [layer['kind'] for layer in layers] == ['conv', 'conv', 'activation']
    assert layers[0]['pattern'] == 'conv+add+activation' and layers[0]['fused']
    assert layers[1]['pattern'] == 'conv' and layers[1]['sources'] == ['Conv_1', 'Conv_2']
    assert not layers[2]['fused'] and layers[2]['op'] == 'PWN'
    raw = {'backend': 'tensorrt', 'model': 'squeezenet1_1', 'device': 'gpu:0',
           'unprofiled_ms': [7.0, 7.0], 'profile': prof}
    result = profiling.from_raw(raw)
    assert result['layer_ms_sum'] == pytest.approx(6.0)
    assert result['idle_ms'] == pytest.approx(1.0) and result['executed_layers'] == 3
    assert result['fusions'] == {'conv+add+activation': 1, 'conv': 1}
    typed = trt_utils.trt_layers(prof, [{'name': 'PWN(Relu_10)', 'type': 'PointWiseV2'}])
    assert typed[2]['op'] == 'PointWiseV2'


# -- summary and views ---------------------------------------------------------------------------

def test_summarise_clamps_idle_share():
    layers = [layer_kinds.layer('a', 'Conv', 'conv', 3.0, ['a'], ['conv'])]
    summary = profiling.summarise(layers, 2.0)  # wall from a different run than the layers
    assert summary['idle_ms'] == pytest.approx(-1.0) and summary['idle_share'] == 0.0
    assert profiling.summarise(layers, None)['idle_share'] is None


def test_views_and_save(tmp_path, chainer_raw, ort_raw):
    chainer = profiling.from_raw(chainer_raw)
    ort = profiling.from_raw(ort_raw)
    table = profiling.render_table(ort)
    assert 'conv+activation x26' in table
    assert 'e.g. ReLU_0_nchwc = Convolution2DFunction_0 + ReLU_0' in table
    assert '(idle)' in table
    view = profiling.compare([chainer, ort])
    assert 'chainer (cpu)' in view and 'onnxruntime (cpu)' in view
    assert 'relu/activation' in view and 'none (one layer per operation)' in view
    paths = profiling.save(ort, str(tmp_path / 'out'))
    assert [os.path.basename(p) for p in paths] == [
        'squeezenet1_1-onnxruntime-cpu.json', 'squeezenet1_1-onnxruntime-cpu.png']
    with open(paths[0]) as f:
        assert json.load(f)['fusions'] == {'conv+activation': 26}
    with open(paths[1], 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    other = dict(ort, model='resnet101')
    with pytest.raises(ClassifierError, match='one model'):
        profiling.compare([chainer, other])


def test_profile_rejects_bad_arguments():
    with pytest.raises(ClassifierError, match='profiled backends'):
        profiling.profile('squeezenet1_1', 'null')
    with pytest.raises(ClassifierError, match='runs'):
        profiling.profile('squeezenet1_1', 'chainer', runs=0)


# -- end to end, real profilers ------------------------------------------------------------------

def _check_structure(result, runs):
    assert result['runs'] == runs and result['executed_layers'] > 0
    assert result['executed_layers'] == len(result['layers'])
    assert 0.0 <= result['idle_share'] <= 1.0
    assert result['wall_ms'] > 0 and result['wall_unprofiled_ms'] > 0
    assert result['layer_ms_sum'] == pytest.approx(sum(layer['ms'] for layer in result['layers']))
    for layer in result['layers']:
        assert layer['kind'] in layer_kinds.KINDS and layer['ms'] >= 0
    assert result['machine']['cpu_count'] >= 1
    json.dumps(result)  # serialisable as is


def test_profile_end_to_end_chainer(cache_dir):
    result = profiling.profile('squeezenet1_1', 'chainer', runs=2, cache_dir=cache_dir)
    _check_structure(result, 2)
    assert result['executed_layers'] == 64
    assert {'conv', 'activation', 'concat', 'pool'} <= set(result['grouping'])


def test_profile_end_to_end_onnxruntime(cache_dir):
    result = profiling.profile('squeezenet1_1', 'onnxruntime', runs=2, cache_dir=cache_dir)
    _check_structure(result, 2)
    assert {'conv', 'concat', 'pool'} <= set(result['grouping'])
    ops = sorted({layer['op'] for layer in result['layers']})
    assert result['fused_layers'] >= 1, 'ONNX Runtime fused nothing; it ran: %s' % ops
    assert 'onnxruntime' in result['machine']['versions']
    assert sys.modules.get('onnxruntime') is not None
