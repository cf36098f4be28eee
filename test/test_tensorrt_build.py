# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""The real TensorRT builder: TensorRT-RTX parses, builds and caches every model without a GPU.

TensorRT-RTX (``tensorrt_rtx``, pinned in requirements.txt) builds engines ahead of time on a
CPU-only machine; it runs them only on the GPUs its ``ComputeCapability`` enum names, none of
which this project has. So here everything up to execution is real: the ONNX parser and its
errors, the builder with its compute-capability targets, fp16 from a converted ONNX, the engine
cache (miss, hit, truncation), the progress monitor, availability messages. Execution is tested
with a *fake* GPU runtime fed the real engine (``test_node_on_a_fake_gpu_...``) and, on real
hardware, by the ``tensorrt``-marked tests in test_tensorrt_backend.py.

ONNX exports come from the session's shared cache (test/conftest.py: test_backend_agreement
exports every model there first); engines go to per-test or per-module directories.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import types

import numpy
import pytest
from support import RecordingLog

from trt_classifier import agreement
from trt_classifier.backends import create_backend
from trt_classifier.errors import BackendUnavailable, ClassifierError
from trt_classifier.frames import read_rgb, samples_dir
from trt_classifier.models import get_spec, MODELS, pretrained_available
from trt_classifier.preprocess import Preprocessor

ALL_TARGETS = 'cc80_86_89_120_121'  # the portable default of TensorRT-RTX 1.7.1
FP16_MODELS = ('squeezenet1_1', 'efficientnet_lite0')


@pytest.fixture(scope='module')
def rtx():
    """Return the real tensorrt_rtx module; `make test` installs it: there a missing one fails."""
    try:
        import tensorrt_rtx
    except ImportError as exc:
        if os.environ.get('TRT_CLASSIFIER_REQUIRE_LINTERS'):
            pytest.fail('tensorrt_rtx is not importable (make test installs it): %s' % exc)
        pytest.skip('tensorrt_rtx is not installed: pip install tensorrt-rtx-cu12==1.7.1.116')
    return tensorrt_rtx


@pytest.fixture(scope='module')
def engine_dir(tmp_path_factory):
    """One engine directory for this module's every-model builds (fp32 and fp16 compared)."""
    return str(tmp_path_factory.mktemp('engines'))


def _build(model, cache_dir, engine_dir, log, **kwargs):
    from trt_classifier.backends.tensorrt_backend import build_engine
    kwargs.setdefault('runtime', 'tensorrt_rtx')
    return build_engine(model, cache_dir=cache_dir, engine_dir=engine_dir, log=log, **kwargs)


def _built(log):
    return [m for m in log.infos if m.startswith('built the TensorRT engine')]


@pytest.mark.parametrize('model', sorted(MODELS))
def test_every_model_parses_and_builds_fp32_for_every_target(rtx, model, cache_dir,
                                                             engine_dir):
    log = RecordingLog()
    path = _build(model, cache_dir, engine_dir, log)
    name = os.path.basename(path)
    assert name.startswith('%s-fp32-%s-' % (model, ALL_TARGETS)) and name.endswith('.engine')
    assert os.path.getsize(path) > 1e6 and os.path.isfile(path + '.sha256')
    assert len(_built(log)) == 1, log.infos
    assert ('TensorRT-RTX 1.7.1, compute capability 8.0, 8.6, 8.9, 12.0, 12.1)'
            in _built(log)[0])
    assert not log.warnings, log.warnings


@pytest.mark.parametrize('model', FP16_MODELS)
def test_fp16_builds_from_a_converted_onnx_and_is_smaller(rtx, model, cache_dir, engine_dir):
    import onnx
    log = RecordingLog()
    fp32 = _build(model, cache_dir, engine_dir, RecordingLog())
    fp16 = _build(model, cache_dir, engine_dir, log, precision='fp16')
    assert os.path.basename(fp16).startswith('%s-fp16-%s-' % (model, ALL_TARGETS))
    assert os.path.getsize(fp16) < 0.7 * os.path.getsize(fp32), (
        os.path.getsize(fp16), os.path.getsize(fp32))
    converted = [m for m in log.infos if m.startswith('converted to fp16')]
    assert converted or 'converting' not in log.text(), log.infos
    onnx_dir = os.path.join(cache_dir, 'onnx')
    fp16_onnx = [n for n in os.listdir(onnx_dir)
                 if n.startswith(model + '-random') and '-fp16-' in n and n.endswith('.onnx')]
    assert len(fp16_onnx) == 1, os.listdir(onnx_dir)  # beside the fp32 export
    proto = onnx.load(os.path.join(onnx_dir, fp16_onnx[0]))
    float32, float16 = onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16
    assert [i.type.tensor_type.elem_type for i in proto.graph.input] == [float32]
    assert [o.type.tensor_type.elem_type for o in proto.graph.output] == [float32]
    assert {i.data_type for i in proto.graph.initializer if i.dims and len(i.dims) == 4} == {
        float16}  # every convolution weight


def test_fp16_onnx_agrees_with_fp32_on_photos(cache_dir):
    """The fp16 conversion keeps pretrained EfficientNet-Lite0's top-1 on every sample photo.

    Both run in ONNX Runtime on the CPU, so this checks the conversion (graph, Casts, weights
    rounded to fp16), not the GPU's fp16 arithmetic. Tolerance: relative L2 of the logits below
    2e-2 (measured up to 8e-3 on the four photos).
    """
    import onnxruntime
    from trt_classifier import artefacts
    if not pretrained_available('efficientnet_lite0', cache_dir):
        pytest.skip('efficientnet_lite0 pretrained weights are not available here')
    fp32 = artefacts.onnx_export(
        artefacts.resolve_weights('efficientnet_lite0', 'pretrained', cache_dir))
    fp32_path, fp16_path = fp32.path, artefacts.onnx_fp16(fp32, RecordingLog()).path
    cpu = ['CPUExecutionProvider']
    fp32 = onnxruntime.InferenceSession(fp32_path, providers=cpu)
    fp16 = onnxruntime.InferenceSession(fp16_path, providers=cpu)
    pre = Preprocessor.for_model(get_spec('efficientnet_lite0'))
    photos = sorted(n for n in os.listdir(samples_dir()) if n.endswith('.jpg'))
    assert len(photos) >= 4
    batches = [pre(read_rgb(os.path.join(samples_dir(), n))) for n in photos]
    report = agreement.compare_backends(
        lambda b: fp32.run(None, {'input': b})[0], lambda b: fp16.run(None, {'input': b})[0],
        batches)
    assert report['top1_agree'] == report['rows'] == len(photos), report
    assert 0 < report['max_relative_l2'] < 2e-2, report


@pytest.mark.parametrize('damage', ['corrupt', 'truncated'])
def test_parser_errors_are_reported(rtx, damage, cache_dir, tmp_path):
    from trt_classifier.backends.tensorrt_backend import _build as build, _Job
    from trt_classifier import artefacts
    weights = artefacts.resolve_weights('squeezenet1_1', 'random', cache_dir)
    good = artefacts.onnx_export(weights).path
    bad = str(tmp_path / ('%s.onnx' % damage))
    with open(good, 'rb') as f:
        data = f.read()
    with open(bad, 'wb') as f:
        f.write(b'\x08\xff\xff not a protobuf' if damage == 'corrupt' else data[:len(data) // 2])
    job = _Job(rtx, weights, 'fp32', artefacts.OnnxFile(bad, 'x' * 64), 1 << 28,
               (1, 3, 224, 224), str(tmp_path), targets=['8.6'])
    with pytest.raises(ClassifierError) as info:
        build(rtx, job, RecordingLog())
    message = str(info.value)
    assert message.startswith('TensorRT-RTX 1.7.1 could not parse %s:\n  [1/' % bad), message
    assert 'Failed to parse the ONNX model' in message  # the parser's own words
    assert 'code MODEL_DESERIALIZE_FAILED' in message


def test_cache_miss_build_hit_and_truncated_rebuild_without_cuda(rtx, cache_dir, tmp_path,
                                                                 monkeypatch):
    for name in ('pycuda', 'pycuda.driver'):  # building must not need pycuda
        monkeypatch.setitem(sys.modules, name, None)
    engines = str(tmp_path / 'engines')
    log = RecordingLog()
    path = _build('squeezenet1_1', cache_dir, engines, log, targets='8.6')
    assert os.path.basename(path).startswith('squeezenet1_1-fp32-cc86-')
    assert any(m.startswith('building TensorRT engine for squeezenet1_1 (fp32, TensorRT-RTX '
                            '1.7.1, compute capability 8.6): not cached yet') for m in log.infos)
    assert len(_built(log)) == 1
    assert any(m.startswith('build phase: Building engine (') for m in log.infos), log.infos
    # TensorRT-RTX's timing-cache calls are no-ops (deprecated in 1.2): none is kept.
    assert 'TensorRT-RTX 1.7.1 keeps no timing cache' in log.text()
    assert sorted(os.listdir(engines)) == sorted([os.path.basename(path),
                                                  os.path.basename(path) + '.sha256'])
    mtime = os.stat(path).st_mtime_ns

    hit = RecordingLog()
    from trt_classifier import cache
    hashed, real = [], cache.file_sha256
    monkeypatch.setattr(cache, 'file_sha256', lambda p, *a: hashed.append(p) or real(p, *a))
    assert _build('squeezenet1_1', cache_dir, engines, hit, targets='8.6') == path
    assert hit.infos == ['found cached TensorRT engine %s (checksum verified)' % path]
    assert os.stat(path).st_mtime_ns == mtime
    # One digest each: the ONNX export is hashed once (it keys the engine), the engine is read
    # once and checked in memory, random weights have no file.
    assert [os.path.basename(p) for p in hashed] == [
        'squeezenet1_1-random-seed0-op11-224-v2.onnx'], hashed
    monkeypatch.setattr(cache, 'file_sha256', real)

    other = RecordingLog()  # other targets: another engine, named after them
    wider = _build('squeezenet1_1', cache_dir, engines, other, targets='8.9,8.6')
    assert os.path.basename(wider).startswith('squeezenet1_1-fp32-cc86_89-') and wider != path

    with open(path, 'r+b') as f:
        f.truncate(os.path.getsize(path) // 2)
    rebuilt = RecordingLog()
    assert _build('squeezenet1_1', cache_dir, engines, rebuilt, targets='8.6') == path
    assert any(m.startswith('building TensorRT engine for squeezenet1_1') and m.endswith(
        ': checksum mismatch for %s (corrupted or truncated)' % path)
        for m in rebuilt.infos), rebuilt.infos
    assert len(_built(rebuilt)) == 1
    assert _build('squeezenet1_1', cache_dir, engines, RecordingLog(), targets='8.6') == path


def test_targets_are_checked_against_the_runtime(rtx, cache_dir, tmp_path):
    with pytest.raises(ClassifierError) as info:
        _build('squeezenet1_1', cache_dir, str(tmp_path), RecordingLog(), targets='9.0')
    assert str(info.value) == ('compute capability 9.0 is not one this runtime builds for; '
                               'choose from 7.5, 8.0, 8.6, 8.9, 12.0, 12.1 (or all)')
    assert not os.listdir(str(tmp_path))


def test_unwritable_cache_dir_builds_in_a_temporary_one_with_one_warning(rtx, tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('a file where the cache directory should be')
    log = RecordingLog()
    path = _build('squeezenet1_1', str(blocker / 'cache'), None, log, targets='8.6')
    try:
        assert path.startswith(tempfile.gettempdir()) and os.path.isfile(path)
        assert len(log.warnings) == 1, log.warnings
        assert log.warnings[0].startswith('cache directory %s is not writable' % (
            blocker / 'cache'))
    finally:
        shutil.rmtree(os.path.dirname(os.path.dirname(path)), ignore_errors=True)


def test_build_engine_cli_in_a_fresh_process(rtx, cache_dir):
    """The command a robot image build runs: exit 0, the engine path, no pycuda imported."""
    code = ('import sys\n'
            'from trt_classifier.cli import main\n'
            'code = main(sys.argv[1:])\n'
            'print("pycuda imported: %s" % ("pycuda" in sys.modules))\n'
            'sys.exit(code)\n')
    proc = subprocess.run(
        [sys.executable, '-c', code, '--cache-dir', cache_dir, 'build-engine', '--model',
         'squeezenet1_1', '--compute-capabilities', '8.9', '--workspace-mb', '512'],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    out = proc.stdout.decode('utf-8', 'replace')
    assert proc.returncode == 0, out
    lines = out.strip().splitlines()
    assert lines[-1] == 'pycuda imported: False', out
    assert os.path.isfile(lines[-2]) and '-fp32-cc89-' in lines[-2], out


# -- availability: one line for each reason backend:=tensorrt cannot run -------------------------

def _probe(monkeypatch, gpus, reason=''):
    from trt_classifier.backends import tensorrt_backend
    monkeypatch.setattr(tensorrt_backend, 'probe_gpus', lambda: (list(gpus), reason))


def test_no_gpu_is_one_line_naming_what_can_still_be_done(rtx, monkeypatch):
    from trt_classifier.backends.tensorrt_backend import check_runtime
    _probe(monkeypatch, [], 'no CUDA GPU (no CUDA driver: libcuda.so.1: cannot open shared '
                            'object file)')
    with pytest.raises(BackendUnavailable) as info:
        check_runtime('tensorrt_rtx')
    assert str(info.value) == (
        'backend tensorrt (TensorRT-RTX 1.7.1) cannot run engines here: no CUDA GPU (no CUDA '
        'driver: libcuda.so.1: cannot open shared object file). Engines for compute capability '
        '7.5, 8.0, 8.6, 8.9, 12.0, 12.1 can still be built here: trt-classifier build-engine')


def test_unsupported_compute_capability_is_named_with_the_supported_ones(rtx, monkeypatch):
    from trt_classifier.backends.tensorrt_backend import check_runtime
    _probe(monkeypatch, [('NVIDIA H200', '9.0')])
    with pytest.raises(BackendUnavailable) as info:
        check_runtime('tensorrt_rtx')
    assert str(info.value) == (
        'backend tensorrt cannot run here: GPU 0 (NVIDIA H200) has compute capability 9.0; '
        'TensorRT-RTX 1.7.1 runs engines only on compute capability 7.5, 8.0, 8.6, 8.9, 12.0, '
        '12.1')
    with pytest.raises(BackendUnavailable, match='GPU 1 does not exist'):
        check_runtime('tensorrt_rtx', device_id=1)


def test_supported_gpu_without_pycuda_says_how_to_get_it(rtx, monkeypatch):
    from trt_classifier.backends.tensorrt_backend import check_runtime
    _probe(monkeypatch, [('NVIDIA GeForce RTX 3090', '8.6')])
    monkeypatch.setitem(sys.modules, 'pycuda.driver', None)
    with pytest.raises(BackendUnavailable) as info:
        check_runtime()
    message = str(info.value)
    assert message.startswith('backend tensorrt (TensorRT-RTX 1.7.1) needs the Python module '
                              'pycuda.driver'), message
    assert 'pip install pycuda' in message


def test_auto_prefers_classic_and_names_both_when_neither_imports(rtx, monkeypatch):
    from trt_classifier.backends.tensorrt_backend import import_trt
    classic = types.ModuleType('tensorrt')
    classic.__version__ = '8.2.1.8'
    monkeypatch.setitem(sys.modules, 'tensorrt', classic)
    assert import_trt() is classic and import_trt('tensorrt_rtx') is rtx
    for name in ('tensorrt', 'tensorrt_rtx'):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(BackendUnavailable) as info:
        import_trt()
    message = str(info.value)
    assert message.startswith('backend tensorrt needs the Python module tensorrt or '
                              'tensorrt_rtx, which cannot be imported here'), message
    assert 'TensorRT comes with JetPack' in message
    assert 'pip install tensorrt-rtx-cu12==1.7.1.116' in message
    with pytest.raises(ClassifierError, match='tensorrt_runtime must be one of auto, tensorrt, '
                                              'tensorrt_rtx'):
        import_trt('trt11')


def _cannot_run_here():
    from trt_classifier.backends.tensorrt_backend import check_runtime
    try:
        check_runtime()
    except BackendUnavailable as exc:
        return str(exc)
    return ''


@pytest.mark.ros
@pytest.mark.timeout(120)
def test_node_with_backend_tensorrt_fails_at_start_with_one_line(rtx, cache_dir):
    from trt_classifier.procs import NodeProcess, ros_args
    reason = _cannot_run_here()
    if not reason:
        pytest.skip('backend tensorrt can run here')
    node = NodeProcess('trt_classifier.classifier_node', ros_args('/trt_start', {
        'backend': 'tensorrt', 'cache_dir': cache_dir}))
    try:
        assert node.wait(90) == 2, node.output()
        out = node.output()
    finally:
        node.cleanup()
    assert reason in out, out
    assert 'Traceback' not in out, out
    with pytest.raises(BackendUnavailable, match='cannot run'):
        create_backend('tensorrt', 'squeezenet1_1', device='gpu')


# -- a node on a (fake) supported GPU uses the real AOT engine whose targets hold its CC ---------

def test_node_on_a_fake_gpu_uses_the_aot_engine_for_its_compute_capability(
        rtx, cache_dir, monkeypatch, tmp_path):
    """Real ONNX, real builder, real engine files; only the GPU, pycuda and the runtime are fakes.

    ``tensorrt_runtime: tensorrt_rtx`` picks TensorRT-RTX although a (fake) classic one imports.

    The fake runtime checks that it is handed the bytes of the engine file the cache chose and
    returns a fake engine (test_tensorrt_backend.py's) that computes known logits.
    """
    import hashlib
    from test_tensorrt_backend import FakeCuda, make_fake_trt, reference_logits
    from trt_classifier.cache import file_sha256
    fake_cuda = FakeCuda()
    fake_cuda.Device.compute_capability = lambda self: (8, 6)
    fake_cuda.Device.name = lambda self: 'NVIDIA GeForce RTX 3090'
    fake10 = make_fake_trt('10.3.0', fake_cuda)
    deserialized = []

    class Runtime(object):

        def __init__(self, logger):
            fake_cuda.current()

        def deserialize_cuda_engine(self, blob):
            deserialized.append(hashlib.sha256(blob).hexdigest())
            return fake10.Runtime(None).deserialize_cuda_engine(b'ENGINE{"version": "10.3.0"}')

    proxy = types.ModuleType('tensorrt_rtx')
    proxy.__dict__.update({k: getattr(rtx, k) for k in dir(rtx) if not k.startswith('__')})
    proxy.__version__ = rtx.__version__
    proxy.Runtime, proxy.TensorIOMode = Runtime, fake10.TensorIOMode
    pycuda = types.ModuleType('pycuda')
    pycuda.driver = fake_cuda
    classic = make_fake_trt('8.2.1.8', fake_cuda)  # auto would take it: the parameter forces RTX
    for name, module in (('tensorrt', classic), ('tensorrt_rtx', proxy), ('pycuda', pycuda),
                         ('pycuda.driver', fake_cuda)):
        monkeypatch.setitem(sys.modules, name, module)
    _probe(monkeypatch, [('NVIDIA GeForce RTX 3090', '8.6')])
    cache = str(tmp_path / 'cache')
    os.makedirs(os.path.join(cache, 'onnx'))
    from trt_classifier import artefacts
    shared = artefacts.onnx_export(artefacts.resolve_weights('squeezenet1_1', 'random', cache_dir))
    for name in os.listdir(os.path.dirname(shared.path)):
        if name.startswith('squeezenet1_1-random'):  # the shared export, without exporting again
            os.link(os.path.join(cache_dir, 'onnx', name), os.path.join(cache, 'onnx', name))
    aot = _build('squeezenet1_1', cache, None, RecordingLog(), targets='8.6,8.9')

    def load(log, cc=(8, 6)):
        fake_cuda.Device.compute_capability = lambda self: cc
        _probe(monkeypatch, [('NVIDIA GeForce RTX', '%d.%d' % cc)])
        return create_backend('tensorrt', 'squeezenet1_1', device='gpu', cache_dir=cache,
                              log=log, options={'tensorrt_runtime': 'tensorrt_rtx'}).load()

    log = RecordingLog()
    backend = load(log)
    try:
        assert backend.engine_path == aot
        assert log.infos[-1] == 'loaded cached TensorRT engine %s' % aot, log.infos
        assert not _built(log)
        assert deserialized == [file_sha256(aot)]
        batch = numpy.random.RandomState(0).standard_normal((1, 3, 224, 224)).astype('float32')
        numpy.testing.assert_allclose(backend.infer(batch), reference_logits(batch),
                                      rtol=1e-5, atol=1e-4)
        assert backend.describe()['tensorrt_runtime'] == 'TensorRT-RTX 1.7.1'
    finally:
        backend.close()

    log = RecordingLog()  # 7.5 is not among the cached engine's targets: build for 7.5
    backend = load(log, (7, 5))
    try:
        assert os.path.basename(backend.engine_path).startswith('squeezenet1_1-fp32-cc75-')
        assert any(m.startswith('building TensorRT engine for squeezenet1_1 (fp32, TensorRT-RTX '
                                '1.7.1, compute capability 7.5): not cached yet')
                   for m in log.infos), log.infos
        assert deserialized[-1] == file_sha256(backend.engine_path)
    finally:
        backend.close()
    assert fake_cuda.pushes == fake_cuda.pops and fake_cuda.memory == {}
    assert not [c for c in classic.calls if c[0] == 'build']  # classic TensorRT never used
