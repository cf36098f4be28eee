# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for the TensorRT decisions that need no TensorRT (trt_classifier.trt_utils)."""

import json
import re
import threading
import time
import types

import numpy
import pytest
from support import RecordingLog

from trt_classifier import trt_utils
from trt_classifier.errors import ClassifierError

ONNX_SHA = 'ab' * 32
KEY_ARGS = (ONNX_SHA, '8.2.1.8', 'NVIDIA Tegra X1', (5, 3), 'fp16', 256 << 20, (1, 3, 224, 224))


class Enum(object):
    """Stands in for a pybind11 enum value: has ``.name`` and ``int()``."""

    def __init__(self, name, value=0):
        self.name = name
        self.value = value

    def __int__(self):
        return self.value

    def __eq__(self, other):
        return isinstance(other, Enum) and other.name == self.name

    def __hash__(self):
        return hash(self.name)


# -- versions and API generations ------------------------------------------------------------

@pytest.mark.parametrize('text, expected', [
    ('8.2.1.8', (8, 2, 1, 8)),
    ('8.0.1', (8, 0, 1)),
    ('10.3.0', (10, 3, 0)),
    (' 8.6.1.post1 ', (8, 6, 1)),
    ('10.0.0b6', (10, 0, 0)),
    ('10', (10,)),
])
def test_parse_version(text, expected):
    assert trt_utils.parse_version(text) == expected


@pytest.mark.parametrize('text', ['', 'abc', 'v8.2'])
def test_parse_version_rejects_garbage(text):
    with pytest.raises(ClassifierError, match='cannot parse a TensorRT version'):
        trt_utils.parse_version(text)


def test_api_generation():
    class Engine85(object):
        num_io_tensors = 2

    class Engine82(object):
        num_bindings = 2

    assert trt_utils.api_generation(Engine85()) == 'named'
    assert trt_utils.api_generation(Engine82()) == 'bindings'


@pytest.mark.parametrize('version, flag, expected', [
    ('8.0.1.6', 0, 1),
    ('8.2.1.8', Enum('EXPLICIT_BATCH', 0), 1),
    ('8.6.2', 0, 1),
    ('8.2.1', 3, 8),
    ('10.3.0', 0, 0),
    ('10.0.1', None, 0),
])
def test_network_flags(version, flag, expected):
    assert trt_utils.network_flags(version, flag) == expected


def test_network_flags_8x_needs_explicit_batch():
    with pytest.raises(ClassifierError, match='EXPLICIT_BATCH'):
        trt_utils.network_flags('8.2.1.8', None)


# -- cache keys and names ---------------------------------------------------------------------

def test_engine_cache_key_is_stable_short_hex():
    key = trt_utils.engine_cache_key(*KEY_ARGS)
    assert key == '49bc56d9d5914331'
    assert re.match(r'^[0-9a-f]{16}$', key)
    # Equivalent spellings of the same facts give the same key.
    assert trt_utils.engine_cache_key(ONNX_SHA, '8.2.1.8', 'NVIDIA Tegra X1', '5.3', 'fp16',
                                      256 << 20, [1, 3, 224, 224]) == key


@pytest.mark.parametrize('index, other', [
    (0, 'cd' * 32), (1, '8.2.3.0'), (2, 'Xavier'), (3, (7, 2)), (4, 'fp32'), (5, 512 << 20),
    (6, (1, 3, 256, 256)),
])
def test_engine_cache_key_changes_with_every_field(index, other):
    args = list(KEY_ARGS)
    args[index] = other
    assert trt_utils.engine_cache_key(*args) != trt_utils.engine_cache_key(*KEY_ARGS)


def test_engine_filename():
    assert (trt_utils.engine_filename('squeezenet1_1', 'fp16', '49bc56d9d5914331')
            == 'squeezenet1_1-fp16-49bc56d9d5914331.engine')


def test_timing_cache_name():
    assert (trt_utils.timing_cache_name('8.2.1.8', 'NVIDIA Tegra X1', (5, 3))
            == 'timing-trt8.2.1.8-nvidia-tegra-x1-sm53.cache')
    assert (trt_utils.timing_cache_name('10.3.0.post1', 'NVIDIA H100 80GB HBM3', '9.0')
            == 'timing-trt10.3.0-nvidia-h100-80gb-hbm3-sm90.cache')


def test_slug_and_compute_capability():
    assert trt_utils.slug('NVIDIA Tegra X1') == 'nvidia-tegra-x1'
    assert trt_utils.slug('Orin (nvgpu)') == 'orin-nvgpu'
    assert trt_utils.slug('///') == 'unknown'
    assert trt_utils.slug('squeezenet1_1') == 'squeezenet1_1'
    assert trt_utils.format_compute_capability((8, 7)) == '8.7'
    assert trt_utils.format_compute_capability(' 5.3') == '5.3'
    for bad in ((8,), 'sm_87', '87'):
        with pytest.raises(ClassifierError, match='compute capability'):
            trt_utils.format_compute_capability(bad)


# -- precision and workspace ------------------------------------------------------------------

@pytest.mark.parametrize('requested, fast, expected', [
    ('fp32', True, ('fp32', None)),
    ('fp32', False, ('fp32', None)),
    ('fp16', True, ('fp16', None)),
    (' FP16 ', True, ('fp16', None)),
])
def test_choose_precision(requested, fast, expected):
    assert trt_utils.choose_precision(requested, fast) == expected


def test_choose_precision_fp16_without_fast_fp16_falls_back_with_warning():
    precision, warning = trt_utils.choose_precision('fp16', False)
    assert precision == 'fp32'
    assert 'platform_has_fast_fp16 is False' in warning and 'fp32' in warning


@pytest.mark.parametrize('requested', ['int8', 'fp64', '', None, 'best'])
def test_choose_precision_lists_allowed_values(requested):
    with pytest.raises(ClassifierError) as info:
        trt_utils.choose_precision(requested, True)
    assert 'precision must be one of fp32, fp16' in str(info.value)
    assert repr(requested) in str(info.value)


def test_workspace_api_and_set_workspace():
    class Config84(object):

        def __init__(self):
            self.calls = []

        def set_memory_pool_limit(self, pool, nbytes):
            self.calls.append((pool, nbytes))

    class Config82(object):
        max_workspace_size = 0

    new, old = Config84(), Config82()
    assert trt_utils.workspace_api(new) == 'memory_pool'
    assert trt_utils.workspace_api(old) == 'max_workspace_size'
    assert trt_utils.set_workspace(new, 1 << 28, 'WORKSPACE') == 'memory_pool'
    assert new.calls == [('WORKSPACE', 1 << 28)]
    assert trt_utils.set_workspace(old, 1 << 28, None) == 'max_workspace_size'
    assert old.max_workspace_size == 268435456


@pytest.mark.parametrize('megabytes, expected', [(256, 268435456), ('64', 67108864), (1, 1 << 20)])
def test_workspace_bytes(megabytes, expected):
    assert trt_utils.workspace_bytes(megabytes) == expected


@pytest.mark.parametrize('megabytes', [0, -1, 'x', 1.5, None, ''])
def test_workspace_bytes_rejects(megabytes):
    with pytest.raises(ClassifierError, match='workspace_mb must be a positive whole number'):
        trt_utils.workspace_bytes(megabytes)


# -- dtypes and shapes ------------------------------------------------------------------------

@pytest.mark.parametrize('dtype, expected', [
    ('FLOAT', numpy.float32), ('DataType.HALF', numpy.float16), (Enum('INT8'), numpy.int8),
    ('INT32', numpy.int32), ('BOOL', numpy.bool_), ('int64', numpy.int64),
    ('DataType.UINT8', numpy.uint8),
])
def test_trt_dtype_to_numpy(dtype, expected):
    assert trt_utils.trt_dtype_to_numpy(dtype) == numpy.dtype(expected)


@pytest.mark.parametrize('dtype', ['BF16', 'DataType.FP8', Enum('INT4')])
def test_trt_dtype_to_numpy_unsupported(dtype):
    with pytest.raises(ClassifierError) as info:
        trt_utils.trt_dtype_to_numpy(dtype)
    assert str(info.value).endswith('supported: BOOL, FLOAT, HALF, INT32, INT64, INT8, UINT8')


def test_resolve_shape():
    assert trt_utils.resolve_shape((1, 3, 224, 224), (1, 3, 224, 224)) == (1, 3, 224, 224)
    assert trt_utils.resolve_shape((-1, 3, 224, 224), (4, 3, 224, 224)) == (4, 3, 224, 224)
    assert trt_utils.resolve_shape([-1, 3, -1, -1], [2, 3, 96, 128]) == (2, 3, 96, 128)


def test_resolve_shape_errors():
    with pytest.raises(ClassifierError) as info:
        trt_utils.resolve_shape((1, 3, 224, 224), (1, 3, 256, 256))
    assert str(info.value) == ('tensor input: the engine was built for shape (1, 3, 224, 224), '
                               'got (1, 3, 256, 256) (dimension 2 must be 224)')
    with pytest.raises(ClassifierError, match='expects 4 dimensions'):
        trt_utils.resolve_shape((1, 3, 224, 224), (3, 224, 224))
    with pytest.raises(ClassifierError, match='non-positive dimension 0'):
        trt_utils.resolve_shape((-1, 3, 224, 224), (0, 3, 224, 224))


def test_is_dynamic():
    assert trt_utils.is_dynamic((-1, 3, 224, 224))
    assert not trt_utils.is_dynamic((1, 3, 224, 224))


# -- engine I/O by name -----------------------------------------------------------------------

INPUT_MODE = Enum('INPUT')
OUTPUT_MODE = Enum('OUTPUT')


class NamedEngine(object):
    """TensorRT >= 8.5 engine surface; the output is deliberately listed first."""

    num_io_tensors = 2
    _tensors = [('logits', OUTPUT_MODE, (1, 1000), 'DataType.FLOAT'),
                ('input', INPUT_MODE, (-1, 3, 224, 224), 'DataType.FLOAT')]

    def get_tensor_name(self, i):
        return self._tensors[i][0]

    def _get(self, name, field):
        return [t for t in self._tensors if t[0] == name][0][field]

    def get_tensor_mode(self, name):
        return self._get(name, 1)

    def get_tensor_shape(self, name):
        return self._get(name, 2)

    def get_tensor_dtype(self, name):
        return self._get(name, 3)


class BindingEngine(object):
    """TensorRT 8.0/8.2 engine surface."""

    num_bindings = 2
    _bindings = [('input', True, (1, 3, 224, 224), 'DataType.HALF'),
                 ('logits', False, (1, 1000), 'DataType.FLOAT')]

    def get_binding_name(self, i):
        return self._bindings[i][0]

    def binding_is_input(self, i):
        return self._bindings[i][1]

    def get_binding_shape(self, i):
        return self._bindings[i][2]

    def get_binding_dtype(self, i):
        return self._bindings[i][3]

    def get_binding_index(self, name):
        return [b[0] for b in self._bindings].index(name)


def test_engine_io_named():
    io = trt_utils.engine_io(NamedEngine(), INPUT_MODE)
    assert io == {
        'logits': {'input': False, 'shape': (1, 1000), 'dtype': numpy.dtype('float32'),
                   'index': 0},
        'input': {'input': True, 'shape': (-1, 3, 224, 224), 'dtype': numpy.dtype('float32'),
                  'index': 1},
    }
    trt_utils.check_io_names(io)
    assert trt_utils.bindings_list(io, {'input': 0x1000, 'logits': 0x2000}) == [0x2000, 0x1000]


def test_engine_io_bindings():
    io = trt_utils.engine_io(BindingEngine())
    assert io['input'] == {'input': True, 'shape': (1, 3, 224, 224),
                           'dtype': numpy.dtype('float16'), 'index': 0}
    assert io['logits']['index'] == 1 and not io['logits']['input']
    assert trt_utils.bindings_list(io, {'input': 16, 'logits': 32}) == [16, 32]


def test_check_io_names_reports_what_the_engine_has():
    io = {'data': {'input': True}, 'prob': {'input': False}}
    with pytest.raises(ClassifierError) as info:
        trt_utils.check_io_names(io)
    assert str(info.value) == (
        "the engine has inputs ['data'] and outputs ['prob']; expected inputs ['input'] and "
        "outputs ['logits'] (the ONNX export names them)")


# -- profiling and inspection -----------------------------------------------------------------

def test_split_fused_name():
    assert trt_utils.split_fused_name('Conv_8 + Add_9 + Relu_10') == ['Conv_8', 'Add_9', 'Relu_10']
    assert trt_utils.split_fused_name('a || b + c') == ['a', 'b', 'c']
    assert trt_utils.split_fused_name('PWN(Clip_3)') == ['Clip_3']


def test_parse_profile_records_means_over_runs_in_order():
    records = [('conv1', 1.0), ('Conv_8 + Relu_10', 0.5), ('fc', 0.25),
               ('conv1', 3.0), ('Conv_8 + Relu_10', 1.5), ('fc', 0.75)]
    result = trt_utils.parse_profile_records(records)
    assert [layer['name'] for layer in result['layers']] == ['conv1', 'Conv_8 + Relu_10', 'fc']
    assert [layer['mean_ms'] for layer in result['layers']] == [2.0, 1.0, 0.5]
    assert [layer['reports'] for layer in result['layers']] == [2, 2, 2]
    assert result['total_ms'] == 3.5
    assert [round(layer['share'], 6) for layer in result['layers']] == [
        round(2.0 / 3.5, 6), round(1.0 / 3.5, 6), round(0.5 / 3.5, 6)]


def test_parse_profile_records_with_runs_counts_missing_reports_as_zero():
    result = trt_utils.parse_profile_records([('a', 2.0), ('b', 1.0), ('a', 2.0)], runs=2)
    assert [(x['name'], x['mean_ms'], x['reports']) for x in result['layers']] == [
        ('a', 2.0, 2), ('b', 0.5, 1)]


def test_parse_profile_records_empty_and_bad_runs():
    assert trt_utils.parse_profile_records([]) == {'layers': [], 'total_ms': 0}
    with pytest.raises(ClassifierError, match='runs must be >= 1'):
        trt_utils.parse_profile_records([('a', 1.0)], runs=0)


def test_parse_inspector_json_names_only():
    text = json.dumps({'Layers': ['conv1 + relu1', 'fc'], 'Bindings': ['input', 'logits']})
    assert trt_utils.parse_inspector_json(text) == [
        {'name': 'conv1 + relu1', 'type': None, 'tactic': None},
        {'name': 'fc', 'type': None, 'tactic': None}]


def test_parse_inspector_json_detailed():
    text = json.dumps({'Layers': [
        {'Name': 'Conv_0 + Relu_1', 'LayerType': 'CaskConvolution', 'Inputs': [],
         'TacticName': 'sm80_xmma_fprop'},
        {'Name': 'Gemm_5', 'LayerType': 'CaskGemmConvolution', 'TacticValue': '0x1f'},
        {'Name': 'reformat'}],
        'Bindings': ['input', 'logits']})
    assert trt_utils.parse_inspector_json(text) == [
        {'name': 'Conv_0 + Relu_1', 'type': 'CaskConvolution', 'tactic': 'sm80_xmma_fprop'},
        {'name': 'Gemm_5', 'type': 'CaskGemmConvolution', 'tactic': '0x1f'},
        {'name': 'reformat', 'type': None, 'tactic': None}]


@pytest.mark.parametrize('text, message', [
    ('not json', 'not JSON'),
    ('{"Bindings": []}', 'no "Layers" list (keys: Bindings)'),
    ('[1, 2]', 'no "Layers" list (keys: list)'),
])
def test_parse_inspector_json_errors(text, message):
    with pytest.raises(ClassifierError) as info:
        trt_utils.parse_inspector_json(text)
    assert message in str(info.value)


class ParserError82(object):
    """TensorRT 8.x ParserError: desc(), node() index, code() enum."""

    def __init__(self, desc, node, code):
        self._desc, self._node, self._code = desc, node, code

    def desc(self):
        return self._desc

    def node(self):
        return self._node

    def code(self):
        return self._code


class ParserError10(ParserError82):
    """TensorRT 10.x adds node_name() and node_operator()."""

    def node_name(self):
        return 'AveragePool_42'

    def node_operator(self):
        return 'AveragePool'


class Parser(object):

    def __init__(self, errors):
        self.errors = errors
        self.num_errors = len(errors)

    def get_error(self, i):
        return self.errors[i]


def test_format_parser_errors():
    parser = Parser([
        ParserError82('Assertion failed: GEMM must have 2D inputs!', 17,
                      Enum('UNSUPPORTED_NODE')),
        ParserError10('asymmetric padding', 42, Enum('INVALID_NODE')),
        ParserError82('no node', -1, None),
    ])
    assert trt_utils.format_parser_errors(parser) == [
        '[1/3] Assertion failed: GEMM must have 2D inputs! (node 17, code UNSUPPORTED_NODE)',
        '[2/3] asymmetric padding (node 42, name AveragePool_42, op AveragePool, '
        'code INVALID_NODE)',
        '[3/3] no node',
    ]


def test_format_parser_errors_minimal_error_object():
    class Bare(object):

        def desc(self):
            return 'bad'

        def node(self):
            raise RuntimeError('not bound in this version')

    assert trt_utils.format_parser_errors(Parser([Bare()])) == ['[1/1] bad']
    assert trt_utils.format_parser_errors(Parser([])) == []


# -- build progress ---------------------------------------------------------------------------

def test_build_progress_logs_until_done():
    log = RecordingLog()
    with trt_utils.BuildProgress(log, 'squeezenet1_1 (fp16)', interval=0.02) as progress:
        time.sleep(0.15)
    assert progress.elapsed >= 0.15
    assert log.infos, 'no progress line was logged'
    assert all(re.match(r'^still building engine for squeezenet1_1 \(fp16\) \(\d+ s\)\.\.\.$', m)
               for m in log.infos)
    count = len(log.infos)
    time.sleep(0.06)
    assert len(log.infos) == count
    assert not [t for t in threading.enumerate() if t.name == 'trt-build-progress']


def test_build_progress_stops_on_error():
    log = RecordingLog()
    with pytest.raises(ValueError):
        with trt_utils.BuildProgress(log, 'x', interval=10.0):
            raise ValueError('build failed')
    assert not [t for t in threading.enumerate() if t.name == 'trt-build-progress']
    assert log.infos == []


def test_build_progress_reports_seconds_from_clock():
    log = RecordingLog()
    progress = trt_utils.BuildProgress(log, 'vgg16', interval=10.0, clock=lambda: 112.4)
    progress._start = 100.0
    progress._stop.set()  # _run's wait returns True at once: no line
    progress._run()
    assert log.infos == []
    progress._stop.clear()
    waits = iter([False, True])
    progress._stop.wait = lambda timeout: next(waits)
    progress._run()
    assert log.infos == ['still building engine for vgg16 (12 s)...']


# -- two runtimes: classic TensorRT and TensorRT-RTX -------------------------------------------

def test_network_flags_for_tensorrt_rtx():
    # versions 1.x are TensorRT-RTX's own, not TensorRT 1.x; it has no EXPLICIT_BATCH
    assert trt_utils.network_flags('1.7.1.116', None, 'tensorrt_rtx') == 0
    with pytest.raises(ClassifierError, match='EXPLICIT_BATCH'):
        trt_utils.network_flags('1.7.1.116', None)


def test_runtime_names_and_labels():
    assert trt_utils.normalise_runtime(' TensorRT_RTX') == 'tensorrt_rtx'
    with pytest.raises(ClassifierError, match='one of auto, tensorrt, tensorrt_rtx, not'):
        trt_utils.normalise_runtime('rtx')
    for module, name in (('tensorrt', 'tensorrt'), ('tensorrt_rtx', 'tensorrt_rtx'),
                         ('tensorrt_rtx.tensorrt_rtx', 'tensorrt_rtx')):
        assert trt_utils.runtime_name(types.ModuleType(module)) == name
    assert trt_utils.runtime_label('tensorrt_rtx', '1.7.1.116') == 'TensorRT-RTX 1.7.1'
    assert trt_utils.runtime_label('tensorrt', '8.2.1.8') == 'TensorRT 8.2.1'
    assert trt_utils.supports_timing_cache('tensorrt')
    assert not trt_utils.supports_timing_cache('tensorrt_rtx')


def test_feature_detection_of_fp16():
    assert trt_utils.strongly_typed(Enum('STRICT_NANS'))
    assert not trt_utils.strongly_typed(types.SimpleNamespace(FP16=1))
    assert trt_utils.fast_fp16(types.SimpleNamespace()) is True  # TensorRT-RTX: no such attribute
    assert trt_utils.fast_fp16(types.SimpleNamespace(platform_has_fast_fp16=False)) is False


class ComputeCapability(object):
    """TensorRT-RTX 1.7's enum members."""

    CURRENT = NONE = SM75 = SM80 = SM86 = SM89 = SM120 = SM121 = 0


def test_supported_compute_capabilities_and_targets():
    supported = trt_utils.supported_compute_capabilities(ComputeCapability)
    assert supported == ['7.5', '8.0', '8.6', '8.9', '12.0', '12.1']
    assert trt_utils.cc_enum_name('12.0') == 'SM120' and trt_utils.cc_enum_name((8, 6)) == 'SM86'
    assert trt_utils.parse_targets(None, supported) == ['8.0', '8.6', '8.9', '12.0', '12.1']
    assert trt_utils.parse_targets('all', supported) == supported
    assert trt_utils.parse_targets(' 8.9, 8.6,8.6', supported) == ['8.6', '8.9']
    with pytest.raises(ClassifierError) as info:
        trt_utils.parse_targets('8.6,9.0', supported)
    assert str(info.value) == ('compute capability 9.0 is not one this runtime builds for; '
                               'choose from 7.5, 8.0, 8.6, 8.9, 12.0, 12.1 (or all)')
    assert trt_utils.unsupported_gpu_reason('TensorRT-RTX 1.7.1', 'X', (8, 6), supported) == ''
    assert trt_utils.unsupported_gpu_reason('TensorRT-RTX 1.7.1', 'NVIDIA H200', '9.0',
                                            supported, 1) == (
        'GPU 1 (NVIDIA H200) has compute capability 9.0; TensorRT-RTX 1.7.1 runs engines only '
        'on compute capability 7.5, 8.0, 8.6, 8.9, 12.0, 12.1')


AOT = ('a' * 64, 'tensorrt_rtx', '1.7.1.116', ['8.6', '8.9'], 'fp16', 1 << 30, (1, 3, 224, 224))


@pytest.mark.parametrize('index, other', [
    (0, 'b' * 64), (1, 'tensorrt'), (2, '1.8.0'), (3, ['8.6']), (4, 'fp32'), (5, 1 << 29),
    (6, (1, 3, 160, 160))])
def test_aot_engine_key_changes_with_every_field(index, other):
    changed = list(AOT)
    changed[index] = other
    key = trt_utils.aot_engine_key(*AOT)
    assert len(key) == 16 and key == trt_utils.aot_engine_key(*AOT)
    assert trt_utils.aot_engine_key(*changed) != key


def test_aot_engine_filename_names_the_targets():
    assert trt_utils.aot_engine_filename('ResNet 101', 'fp16', ['8.6', '12.0'], 'k' * 16) == (
        'resnet-101-fp16-cc86_120-kkkkkkkkkkkkkkkk.engine')


def test_find_aot_engines_matches_targets_and_key():
    def key_for(targets):
        return trt_utils.aot_engine_key(AOT[0], AOT[1], AOT[2], targets, 'fp16', AOT[5], AOT[6])

    def name(targets, key=None):
        return trt_utils.aot_engine_filename('squeezenet1_1', 'fp16', targets,
                                             key or key_for(targets))
    names = [name(['8.0', '8.6', '8.9', '12.0']), name(['8.6']), name(['8.9']),
             name(['8.6', '8.9'], 'f' * 16),  # built from another ONNX / runtime: skipped
             'squeezenet1_1-fp32-cc86-%s.engine' % key_for(['8.6']), 'notes.txt',
             trt_utils.engine_filename('squeezenet1_1', 'fp16', key_for(['8.6']))]
    assert trt_utils.find_aot_engines(names, 'squeezenet1_1', 'fp16', '8.6', key_for) == [
        name(['8.6']), name(['8.0', '8.6', '8.9', '12.0'])]  # fewest targets first
    assert trt_utils.find_aot_engines(names, 'squeezenet1_1', 'fp16', (12, 0), key_for) == [
        name(['8.0', '8.6', '8.9', '12.0'])]
    assert trt_utils.find_aot_engines(names, 'squeezenet1_1', 'fp16', '7.5', key_for) == []


def test_build_phases_log_two_levels_at_info():
    log = RecordingLog()
    phases = trt_utils.BuildPhases(log)
    phases.start('Building engine', None, 3)
    phases.start('Optimizing graph', 'Building engine', 30)
    phases.start('Timing tactics', 'Optimizing graph', 2)
    assert log.messages == [
        ('info', 'build phase: Building engine (3 steps)'),
        ('info', 'build phase: . Optimizing graph (30 steps)'),
        ('debug', 'build phase: . . Timing tactics (2 steps)')]
    assert phases.started == ['Building engine', 'Optimizing graph', 'Timing tactics']
