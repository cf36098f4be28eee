# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Tests for the TensorRT backend's classic-TensorRT paths and its pycuda plumbing.

Three layers:

* the pycuda plumbing and the classic TensorRT wiring run against *fakes* that enforce the rules
  of docs/TENSORRT.md (a context pushed for every CUDA call, per thread; names not positions; the
  8.x binding API vs the 8.5+ name-based API; EXPLICIT_BATCH, max_workspace_size, the FP16 flag,
  platform_has_fast_fp16, the per-device timing cache). The fakes check the wiring, not TensorRT
  itself, and cover only what the real builder cannot: classic TensorRT is not installable here;
* the real TensorRT-RTX builder (parse, build, cache, errors) is tested in
  test_tensorrt_build.py;
* end-to-end tests marked ``tensorrt`` execute engines: they need a runtime, pycuda and a GPU
  it runs on (Jetson, x86 with TensorRT, or an RTX-class GPU with TensorRT-RTX) and skip
  elsewhere with the reason (which GPU, which compute capability, which ones are supported).
"""

import hashlib
import json
import os
import sys
import threading
import types

import numpy
import pytest
from support import RecordingLog

from trt_classifier import artefacts, cuda_plumbing
from trt_classifier.backends import create_backend
from trt_classifier.errors import BackendUnavailable, ClassifierError


# -- a fake pycuda.driver ---------------------------------------------------------------------

class FakeCuda(types.ModuleType):
    """pycuda.driver's surface, enforcing "a context must be current on this thread"."""

    def __init__(self):
        super().__init__('pycuda.driver')
        self.memory = {}        # address -> uint8 array (live device allocations)
        self.pinned = []        # live pinned host allocations
        self.streams = 0        # live streams
        self.pushes = 0
        self.pops = 0
        self.retained = 0
        self._local = threading.local()
        self._next = [0x10000]
        fake = self

        class Context(object):

            def push(self):
                fake._stack().append(self)
                fake.pushes += 1

            @staticmethod
            def pop():
                if not fake._stack():
                    raise RuntimeError('cannot pop non-current context')
                fake._stack().pop()
                fake.pops += 1

            def __del__(self):
                fake.retained -= 1

        class Device(object):

            def __init__(self, index):
                self.index = index

            @staticmethod
            def count():
                return 1

            def retain_primary_context(self):
                fake.retained += 1
                return Context()

            def name(self):
                return 'NVIDIA Tegra X1'

            def compute_capability(self):
                return (5, 3)

        class Alloc(object):

            def __init__(self, nbytes):
                fake.current()
                self.address = fake._next[0]
                fake._next[0] += (nbytes // 0x10000 + 2) * 0x10000  # never overlapping
                fake.memory[self.address] = numpy.zeros(nbytes, numpy.uint8)

            def __int__(self):
                return self.address

            def free(self):
                fake.current()
                del fake.memory[self.address]

        class HostAllocation(object):

            def __init__(self, nbytes):
                fake.current()
                self.buffer = bytearray(nbytes)
                fake.pinned.append(self)

            def free(self):
                fake.current()
                fake.pinned.remove(self)

        class Stream(object):

            def __init__(self):
                fake.current()
                fake.streams += 1
                self.handle = 0xABC

            def synchronize(self):
                fake.current()

            def __del__(self):
                fake.streams -= 1

        self.Context, self.Device, self.Stream = Context, Device, Stream
        self._alloc, self._host = Alloc, HostAllocation

    def _stack(self):
        if not hasattr(self._local, 'stack'):
            self._local.stack = []
        return self._local.stack

    def current(self):
        if not self._stack():
            raise RuntimeError('explicit_context_dependent failed: invalid device context - '
                               'no currently active context?')

    def init(self):
        pass

    def mem_alloc(self, nbytes):
        return self._alloc(nbytes)

    def pagelocked_empty(self, shape, dtype):
        dtype = numpy.dtype(dtype)
        nbytes = int(numpy.prod(shape)) * dtype.itemsize
        base = self._host(nbytes)
        array = numpy.frombuffer(base.buffer, dtype).reshape(shape)
        array.flags.writeable = True
        return PinnedArray(array, base)

    def device_bytes(self, address, nbytes):
        for start, block in self.memory.items():
            if start <= address < start + block.size:
                return block[address - start:address - start + nbytes]
        raise RuntimeError('illegal address %#x' % address)

    def memcpy_htod_async(self, dst, src, stream):
        self.current()
        raw = numpy.ascontiguousarray(src).view(numpy.uint8).reshape(-1)
        self.device_bytes(int(dst), raw.size)[...] = raw

    def memcpy_dtoh_async(self, dst, src, stream):
        self.current()
        raw = dst.view(numpy.uint8).reshape(-1)
        raw[...] = self.device_bytes(int(src), raw.size)

    def memcpy_dtod_async(self, dst, src, size, stream):
        self.current()
        self.device_bytes(int(dst), size)[...] = self.device_bytes(int(src), size)

    def read(self, address, shape, dtype='float32'):
        dtype = numpy.dtype(dtype)
        nbytes = int(numpy.prod(shape)) * dtype.itemsize
        return self.device_bytes(int(address), nbytes).view(dtype).reshape(shape).copy()


class PinnedArray(numpy.ndarray):
    """A NumPy array whose ``.base`` is the (fake) HostAllocation, as pycuda's are."""

    def __new__(cls, array, allocation):
        obj = array.view(cls)
        obj._allocation = allocation
        return obj

    @property
    def base(self):
        return getattr(self, '_allocation', None)


class FakeCupyArray(object):
    """What CuPy offers the backend: shape, dtype, flags.c_contiguous, data.ptr."""

    def __init__(self, cuda, values):
        self.shape = values.shape
        self.dtype = values.dtype
        self.flags = types.SimpleNamespace(c_contiguous=True)
        self._alloc = cuda.mem_alloc(values.nbytes)
        cuda.device_bytes(int(self._alloc), values.nbytes)[...] = values.view(numpy.uint8).ravel()
        self.data = types.SimpleNamespace(ptr=int(self._alloc))


@pytest.fixture
def fake_cuda():
    return FakeCuda()


def test_primary_context_pushes_and_pops_even_on_error(fake_cuda):
    ctx = cuda_plumbing.PrimaryContext(fake_cuda, 0)
    assert ctx.device_name() == 'NVIDIA Tegra X1'
    assert ctx.compute_capability() == (5, 3)
    with pytest.raises(ValueError):
        with ctx.pushed():
            fake_cuda.current()
            raise ValueError('inside')
    assert (fake_cuda.pushes, fake_cuda.pops) == (1, 1)
    with pytest.raises(RuntimeError, match='no currently active context'):
        fake_cuda.current()
    ctx.release()
    assert fake_cuda.retained == 0


def test_primary_context_rejects_missing_gpu(fake_cuda):
    with pytest.raises(ClassifierError, match='GPU 3 does not exist'):
        cuda_plumbing.PrimaryContext(fake_cuda, 3)


def test_cuda_buffers_round_trip_numpy_and_cupy(fake_cuda):
    ctx = cuda_plumbing.PrimaryContext(fake_cuda, 0)
    specs = {'input': ((1, 3, 4, 4), numpy.float32), 'logits': ((1, 10), numpy.float32)}
    with ctx.pushed():
        buffers = cuda_plumbing.CudaBuffers(fake_cuda, specs)
        assert set(buffers.pointers()) == {'input', 'logits'}
        batch = numpy.arange(48, dtype=numpy.float64).reshape(1, 3, 4, 4)  # cast on upload
        buffers.upload('input', batch)
        assert numpy.array_equal(fake_cuda.read(buffers.pointer('input'), (1, 3, 4, 4)), batch)
        on_gpu = FakeCupyArray(fake_cuda, numpy.full((1, 3, 4, 4), 7, numpy.float32))
        buffers.upload('input', on_gpu)
        assert (fake_cuda.read(buffers.pointer('input'), (1, 3, 4, 4)) == 7).all()
        fake_cuda.device_bytes(buffers.pointer('logits'), 40)[...] = (
            numpy.arange(10, dtype=numpy.float32).view(numpy.uint8))
        out = buffers.download('logits')
        buffers.synchronize()
        assert out.tolist() == [list(range(10))]
        wrong_shape = r'shape \(1, 3, 4, 4\), got float32 \(3, 4, 4\)'
        with pytest.raises(ClassifierError, match=wrong_shape):
            buffers.upload('input', numpy.zeros((3, 4, 4), numpy.float32))
        with pytest.raises(ClassifierError, match='needs a float32 array'):
            buffers.upload('input', FakeCupyArray(fake_cuda, numpy.zeros((1, 3, 4, 4))))
        on_gpu._alloc.free()
        buffers.free()
    ctx.release()
    assert fake_cuda.pinned == [] and fake_cuda.streams == 0
    assert len(fake_cuda.memory) == 1  # only the float64 FakeCupyArray, never freed by us


def test_cuda_plumbing_fails_without_pushed_context(fake_cuda):
    with pytest.raises(RuntimeError, match='no currently active context'):
        cuda_plumbing.CudaBuffers(fake_cuda, {'input': ((1,), numpy.float32)})


def test_is_device_array():
    assert not cuda_plumbing.is_device_array(numpy.zeros(3))
    assert cuda_plumbing.is_device_array(types.SimpleNamespace(data=types.SimpleNamespace(ptr=1)))


# -- a fake tensorrt module -------------------------------------------------------------------

def reference_logits(batch):
    """Compute what every fake engine computes: logits[j] = sum of input.ravel()[j::1000]."""
    flat = numpy.asarray(batch, numpy.float64).reshape(-1)
    padded = numpy.zeros(((flat.size + 999) // 1000) * 1000)
    padded[:flat.size] = flat
    return padded.reshape(-1, 1000).sum(axis=0)[None, :].astype(numpy.float32)


class EnumValue(object):
    """A pybind11 enum value: ``.name`` and ``int()``."""

    def __init__(self, name, value):
        self.name = name
        self.value = value

    def __int__(self):
        return self.value


def make_fake_trt(version, cuda, fast_fp16=True):
    """Make a tensorrt module: 8.0/8.2 (binding API, max_workspace_size) or 8.5+ (named API)."""
    trt = types.ModuleType('tensorrt')
    trt.__version__ = version
    major_minor = tuple(int(p) for p in version.split('.')[:2])
    named = major_minor >= (8, 5)
    trt.calls = []
    io = [('input', True, (1, 3, 224, 224)), ('logits', False, (1, 1000))]

    def enum(*names):
        return types.SimpleNamespace(**{n: EnumValue(n, i) for i, n in enumerate(names)})

    trt.Logger = type('Logger', (), {'WARNING': 2, '__init__': lambda self, level: None})
    trt.NetworkDefinitionCreationFlag = enum('EXPLICIT_BATCH')
    trt.BuilderFlag = enum('FP16', 'INT8', 'TF32')
    trt.DataType = enum('FLOAT', 'HALF')
    trt.LayerInformationFormat = enum('ONELINE', 'JSON')
    trt.ProfilingVerbosity = (enum('LAYER_NAMES_ONLY', 'NONE', 'DETAILED')
                              if major_minor >= (8, 2) else enum('DEFAULT', 'NONE', 'VERBOSE'))
    if major_minor >= (8, 4):
        trt.MemoryPoolType = enum('WORKSPACE')
    if named:
        trt.TensorIOMode = enum('NONE', 'INPUT', 'OUTPUT')

    class IProfiler(object):

        def __init__(self):
            self.initialised = True

    trt.IProfiler = IProfiler

    class Tensor(object):
        name = 'input'
        shape = (1, 3, 224, 224)

    class Network(object):
        num_inputs = 1

        def get_input(self, i):
            return Tensor()

    class TimingCache(object):

        def __init__(self, blob):
            self.blob = bytes(blob)

        def serialize(self):
            return self.blob or b'timing:' + version.encode()

    class Config(object):
        if major_minor >= (8, 4):
            def set_memory_pool_limit(self, pool, nbytes):
                trt.calls.append(('set_memory_pool_limit', pool.name, nbytes))
        else:
            max_workspace_size = 0

        def __init__(self):
            self.flags = ['TF32']  # TensorRT's default
            self.cache = None

        def set_flag(self, flag):
            self.flags.append(flag.name)

        def clear_flag(self, flag):
            self.flags.remove(flag.name)

        def create_timing_cache(self, blob):
            trt.calls.append(('create_timing_cache', bytes(blob)))
            return TimingCache(blob)

        def set_timing_cache(self, cache, ignore_mismatch):
            assert ignore_mismatch is False
            self.cache = cache
            return True

        def get_timing_cache(self):
            return self.cache

    class Parser(object):

        def __init__(self, network, logger):
            self.num_errors = 0

        def parse(self, data):
            if data.startswith(b'BAD'):
                self.num_errors = 1
                return False
            return True

        def get_error(self, i):
            return types.SimpleNamespace(desc=lambda: 'Unsupported ONNX op Foo', node=lambda: 7,
                                         code=lambda: types.SimpleNamespace(name='UNSUPPORTED'))

    class Builder(object):
        platform_has_fast_fp16 = fast_fp16

        def __init__(self, logger):
            cuda.current()

        def create_network(self, flags):
            assert flags == (0 if major_minor >= (10, 0) else 1), flags
            return Network()

        def create_builder_config(self):
            return Config()

        def build_serialized_network(self, network, config):
            cuda.current()
            if major_minor < (8, 4):
                assert config.max_workspace_size > 0
            assert config.cache is not None, 'timing cache not attached'
            if hasattr(trt.ProfilingVerbosity, 'DETAILED'):
                assert config.profiling_verbosity.name == 'DETAILED'
            trt.calls.append(('build', tuple(config.flags)))
            return b'ENGINE' + json.dumps({'version': version, 'flags': config.flags}).encode()

    class Context(object):

        def __init__(self):
            self.addresses = {}
            self.profiler = None

        def set_tensor_address(self, name, pointer):
            self.addresses[name] = pointer

        def get_tensor_shape(self, name):
            return {n: s for n, _i, s in io}[name]

        def get_binding_shape(self, index):
            return io[index][2]

        def _run(self, pointers):
            cuda.current()
            batch = cuda.read(pointers['input'], io[0][2])
            out = reference_logits(batch)
            cuda.device_bytes(pointers['logits'], out.nbytes)[...] = out.view(numpy.uint8).ravel()
            if self.profiler is not None:
                assert self.profiler.initialised, 'IProfiler.__init__ not called'
                for layer, ms in (('Conv_0 + Relu_1', 0.5), ('Gemm_9', 0.25)):
                    self.profiler.report_layer_time(layer, ms)
            return True

        def execute_async_v3(self, stream_handle):
            assert named and stream_handle == 0xABC
            assert set(self.addresses) == {'input', 'logits'}
            return self._run(self.addresses)

        def execute_async_v2(self, bindings, stream_handle):
            assert not named and stream_handle == 0xABC
            return self._run({'input': bindings[0], 'logits': bindings[1]})

        def execute_v2(self, bindings):
            return self._run({'input': bindings[0], 'logits': bindings[1]})

    class Engine(object):
        if named:
            num_io_tensors = 2

            def get_tensor_name(self, i):
                return io[i][0]

            def get_tensor_mode(self, name):
                inputs = {n: i for n, i, _s in io}
                return trt.TensorIOMode.INPUT if inputs[name] else trt.TensorIOMode.OUTPUT

            def get_tensor_shape(self, name):
                return {n: s for n, _i, s in io}[name]

            def get_tensor_dtype(self, name):
                return trt.DataType.FLOAT
        else:
            num_bindings = 2

            def get_binding_name(self, i):
                return io[i][0]

            def binding_is_input(self, i):
                return io[i][1]

            def get_binding_shape(self, i):
                return io[i][2]

            def get_binding_dtype(self, i):
                return trt.DataType.FLOAT

            def get_binding_index(self, name):
                return [n for n, _i, _s in io].index(name)

        def create_execution_context(self):
            cuda.current()
            return Context()

        if major_minor >= (8, 2):
            def create_engine_inspector(self):
                inspector = types.SimpleNamespace(execution_context=None)
                inspector.get_engine_information = lambda fmt: json.dumps({'Layers': [
                    {'Name': 'Conv_0 + Relu_1', 'LayerType': 'CaskConvolution'},
                    {'Name': 'Gemm_9', 'LayerType': 'CaskGemm'}]})
                return inspector

    class Runtime(object):

        def __init__(self, logger):
            cuda.current()

        def deserialize_cuda_engine(self, blob):
            cuda.current()
            trt.calls.append(('deserialize',))
            if not blob.startswith(b'ENGINE'):
                return None
            if json.loads(blob[len(b'ENGINE'):].decode())['version'] != version:
                return None  # "expecting library version ..." in the TensorRT log
            return Engine()

    trt.Builder, trt.OnnxParser, trt.Runtime = Builder, Parser, Runtime
    return trt


def fake_onnx_export(onnx_content=b'ONNX model'):
    """Return a stand-in for the export step: it writes ``onnx_content``, records each call."""

    def onnx_export(weights, input_size=224, opset=11, log=None, steps=None):
        onnx_export.calls.append((weights.model, weights.request, opset, input_size))
        path = os.path.join(weights.cache_dir, 'onnx', '%s.onnx' % weights.model)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(onnx_content)
        return artefacts.OnnxFile(path, hashlib.sha256(onnx_content).hexdigest())

    onnx_export.calls = []
    return onnx_export


@pytest.fixture(params=['8.0.1.6', '8.2.1.8', '8.6.2', '10.3.0'])
def fake_trt(request, monkeypatch, fake_cuda):
    """Install fake tensorrt and pycuda.driver modules and a fake ONNX export step."""
    trt = make_fake_trt(request.param, fake_cuda)
    pycuda = types.ModuleType('pycuda')
    pycuda.driver = fake_cuda
    monkeypatch.setitem(sys.modules, 'tensorrt', trt)
    monkeypatch.setitem(sys.modules, 'pycuda', pycuda)
    monkeypatch.setitem(sys.modules, 'pycuda.driver', fake_cuda)
    monkeypatch.setattr(artefacts, 'onnx_export', fake_onnx_export())
    from trt_classifier.backends import tensorrt_backend
    monkeypatch.setattr(tensorrt_backend, '_TRT_LOGGER', {})
    monkeypatch.setattr(tensorrt_backend, 'probe_gpus', lambda: ([('NVIDIA Tegra X1', '5.3')], ''))
    return trt


def _label(trt):
    return 'TensorRT ' + '.'.join(trt.__version__.split('.')[:3])


def _backend(tmp_path, log, **kwargs):
    kwargs.setdefault('device', 'gpu')
    return create_backend('tensorrt', 'squeezenet1_1', weights='random',
                          cache_dir=str(tmp_path), log=log, **kwargs)


def _engine_files(tmp_path):
    return sorted(os.listdir(str(tmp_path / 'engines')))


def test_fake_build_infer_cache_and_close(fake_trt, fake_cuda, tmp_path):
    log = RecordingLog()
    batch = numpy.random.RandomState(0).standard_normal((1, 3, 224, 224)).astype(numpy.float32)
    backend = _backend(tmp_path, log).load()
    assert any(m.startswith('building TensorRT engine for squeezenet1_1 (fp32, %s, '
                            'NVIDIA Tegra X1): not cached yet' % _label(fake_trt))
               for m in log.infos), log.infos
    logits = backend.infer(batch)
    assert logits.shape == (1, 1000) and logits.dtype == numpy.float32
    numpy.testing.assert_allclose(logits, reference_logits(batch), rtol=1e-5, atol=1e-4)
    assert backend.last_inference_ms > 0
    assert backend.describe()['engine'] == backend.engine_path
    assert backend.describe()['tensorrt'] == fake_trt.__version__
    assert backend.describe()['tensorrt_runtime'] == _label(fake_trt)
    name = os.path.basename(backend.engine_path)
    assert name.startswith('squeezenet1_1-fp32-') and name.endswith('.engine')
    timing = 'timing-trt%s-nvidia-tegra-x1-sm53.cache' % fake_trt.__version__
    assert _engine_files(tmp_path) == sorted([name, name + '.sha256', timing, timing + '.sha256'])
    assert ('build', ()) in fake_trt.calls  # fp32: TF32 cleared
    if fake_trt.__version__.startswith(('8.0', '8.2')):
        assert not [c for c in fake_trt.calls if c[0] == 'set_memory_pool_limit']
    else:
        assert ('set_memory_pool_limit', 'WORKSPACE', 1024 << 20) in fake_trt.calls
    backend.close()
    assert (fake_cuda.memory, fake_cuda.pinned, fake_cuda.streams) == ({}, [], 0)
    assert fake_cuda.pushes == fake_cuda.pops and fake_cuda.retained == 0

    # Second start: cached engine, no build; timing cache reused by the next build.
    log2 = RecordingLog()
    builds = len([c for c in fake_trt.calls if c[0] == 'build'])
    with _backend(tmp_path, log2) as again:
        numpy.testing.assert_allclose(again.infer(batch), logits)
    assert 'loaded cached TensorRT engine %s' % backend.engine_path in log2.infos
    assert not [m for m in log2.infos if m.startswith('building')]
    assert len([c for c in fake_trt.calls if c[0] == 'build']) == builds


def test_fake_timing_cache_is_reused_by_a_rebuild(fake_trt, fake_cuda, tmp_path):
    """Classic TensorRT only (TensorRT-RTX's timing-cache calls are no-ops)."""
    with _backend(tmp_path, RecordingLog()) as backend:
        path = backend.engine_path
    with open(path, 'r+b') as f:
        f.truncate(os.path.getsize(path) // 2)
    log = RecordingLog()
    with _backend(tmp_path, log) as backend:
        assert backend.engine_path == path
        backend.infer(numpy.zeros((1, 3, 224, 224), numpy.float32))
    timing = 'timing-trt%s-nvidia-tegra-x1-sm53.cache' % fake_trt.__version__
    timing = str(tmp_path / 'engines' / timing)
    assert 'using timing cache %s' % timing in log.infos, log.infos
    assert [c for c in fake_trt.calls if c[0] == 'create_timing_cache'][-1][1].startswith(
        b'timing:')  # the saved cache, not a new one


def test_fake_engine_from_other_tensorrt_is_rebuilt(fake_trt, fake_cuda, tmp_path):
    from trt_classifier.cache import write_with_digest
    with _backend(tmp_path, RecordingLog()) as backend:
        path = backend.engine_path
    write_with_digest(path, b'ENGINE' + json.dumps({'version': '0.0.1'}).encode())
    log = RecordingLog()
    with _backend(tmp_path, log) as backend:
        backend.infer(numpy.zeros((1, 3, 224, 224), numpy.float32))
    assert any('could not deserialize %s' % path in m for m in log.infos), log.infos


def test_fake_unwritable_cache_builds_in_memory(fake_trt, fake_cuda, tmp_path):
    (tmp_path / 'engines').write_text('a file where the directory should be')
    log = RecordingLog()
    with _backend(tmp_path, log) as backend:
        assert backend.engine_path is None
        backend.infer(numpy.zeros((1, 3, 224, 224), numpy.float32))
    assert any('keeping it in memory for this run' in m for m in log.warnings), log.warnings
    from trt_classifier.backends.tensorrt_backend import build_engine
    with pytest.raises(ClassifierError, match='could not be saved'):
        build_engine('squeezenet1_1', cache_dir=str(tmp_path), log=RecordingLog())
    assert fake_cuda.pushes == fake_cuda.pops


def test_fake_fp16_and_fallback(fake_trt, fake_cuda, tmp_path):
    with _backend(tmp_path, RecordingLog(), precision='FP16') as backend:
        assert backend.precision == 'fp16'
        assert '-fp16-' in os.path.basename(backend.engine_path)
    assert ('build', ('TF32', 'FP16')) in fake_trt.calls
    fake_trt.Builder.platform_has_fast_fp16 = False
    log = RecordingLog()
    with _backend(tmp_path, log, precision='fp16') as backend:
        assert backend.precision == 'fp32'
    assert any('no fast FP16' in m for m in log.warnings)


def test_fake_bad_precision_fails_before_gpu(fake_trt, fake_cuda, tmp_path):
    with pytest.raises(ClassifierError, match='precision must be one of fp32, fp16'):
        _backend(tmp_path, RecordingLog(), precision='int8').load()
    assert fake_cuda.pushes == 0


def test_fake_input_size_option_reaches_export_and_shape_check(
        monkeypatch, fake_trt, fake_cuda, tmp_path):
    export = fake_onnx_export()
    monkeypatch.setattr(artefacts, 'onnx_export', export)
    with pytest.raises(ClassifierError) as info:
        _backend(tmp_path, RecordingLog(), options={'input_size': 160}).load()
    assert export.calls == [('squeezenet1_1', 'random', 11, 160)]
    assert str(info.value) == ('tensor input: the engine was built for shape (1, 3, 224, 224), '
                               'got (1, 3, 160, 160) (dimension 2 must be 224)')
    assert fake_cuda.pushes == fake_cuda.pops and fake_cuda.memory == {}


def test_fake_cupy_input_and_worker_threads(fake_trt, fake_cuda, tmp_path):
    backend = _backend(tmp_path, RecordingLog()).load()
    results = {}

    def worker(index):
        batch = numpy.full((1, 3, 224, 224), index, numpy.float32)
        results[index] = backend.infer(batch)[0, :3].tolist()

    threads = [threading.Thread(target=worker, args=(i,)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = reference_logits(numpy.ones((1, 3, 224, 224)))[0, :3]
    assert results == {i: (expected * i).tolist() for i in (1, 2)}
    ctx = backend._ctx
    with ctx.pushed():
        on_gpu = FakeCupyArray(fake_cuda, numpy.full((1, 3, 224, 224), 3, numpy.float32))
    numpy.testing.assert_allclose(backend.infer(on_gpu)[0, :3], expected * 3)
    with pytest.raises(ClassifierError, match='got float32'):
        backend.infer(numpy.zeros((2, 3, 224, 224), numpy.float32))
    with ctx.pushed():
        on_gpu._alloc.free()
    backend.close()
    assert fake_cuda.memory == {} and fake_cuda.pushes == fake_cuda.pops


def test_fake_record_layers_is_what_profiling_normalises(fake_trt, fake_cuda, tmp_path):
    from trt_classifier import profiling
    with _backend(tmp_path, RecordingLog()) as backend:
        raw = backend.record_layers(numpy.zeros((1, 3, 224, 224), numpy.float32), 2)
    assert len(raw['unprofiled_ms']) == 2 and raw['profile']['runs'] == 2
    raw.update(backend='tensorrt', model='squeezenet1_1', device='gpu:0')
    result = profiling.from_raw(json.loads(json.dumps(raw)))  # as stored
    assert [layer['name'] for layer in result['layers']] == ['Conv_0 + Relu_1', 'Gemm_9']
    assert result['layers'][0]['pattern'] == 'conv+activation' and result['fused_layers'] == 1
    assert result['layer_ms_sum'] == 0.75 and result['tensorrt'] == fake_trt.__version__
    assert result['runs'] == 2 and result['wall_ms'] == result['wall_unprofiled_ms'] > 0
    assert fake_cuda.pushes == fake_cuda.pops


def test_fake_profile(fake_trt, fake_cuda, tmp_path):
    with _backend(tmp_path, RecordingLog()) as backend:
        report = backend.layer_times(runs=4)
    assert report['runs'] == 4
    assert [(x['name'], x['mean_ms'], x['reports']) for x in report['layers']] == [
        ('Conv_0 + Relu_1', 0.5, 4), ('Gemm_9', 0.25, 4)]
    assert report['total_ms'] == 0.75
    if fake_trt.__version__.startswith('8.0'):
        assert report['inspector'] is None
    else:
        assert [x['type'] for x in report['inspector']] == ['CaskConvolution', 'CaskGemm']
    assert fake_cuda.pushes == fake_cuda.pops


def test_fake_build_engine_cli_helper(fake_trt, fake_cuda, tmp_path):
    from trt_classifier.backends.tensorrt_backend import build_engine
    log = RecordingLog()
    path = build_engine('squeezenet1_1', precision='fp16', workspace_mb=64,
                        cache_dir=str(tmp_path), log=log)
    assert os.path.isfile(path) and os.path.isfile(path + '.sha256')
    assert '-fp16-' in os.path.basename(path)
    assert build_engine('squeezenet1_1', precision='fp16', workspace_mb=64,
                        cache_dir=str(tmp_path), log=log) == path
    assert 'loaded cached TensorRT engine %s' % path in log.infos
    assert fake_cuda.pushes == fake_cuda.pops and fake_cuda.retained == 0


# -- end to end with real TensorRT (Jetson / x86 with TensorRT) -------------------------------

@pytest.fixture
def real_trt():
    """Return the runtime ``auto`` picks if it can run engines here; else skip saying why not.

    The reason names the GPU and its compute capability, and the ones TensorRT-RTX runs on
    (e.g. "GPU 0 (NVIDIA H200) has compute capability 9.0; TensorRT-RTX 1.7.1 runs engines
    only on compute capability 7.5, 8.0, 8.6, 8.9, 12.0, 12.1"), or that there is no GPU.
    """
    from trt_classifier.backends.tensorrt_backend import check_runtime
    try:
        return check_runtime()
    except BackendUnavailable as exc:
        pytest.skip(str(exc))


def _relative_l2(a, b):
    a = numpy.asarray(a, numpy.float64)
    b = numpy.asarray(b, numpy.float64)
    return float(numpy.linalg.norm(a - b) / max(numpy.linalg.norm(b), 1e-12))


def _preprocess(spec, image):
    """uint8 HWC RGB -> float32 (1, 3, S, S): shorter side to S, centre crop, mean/std, order."""
    from skimage.transform import resize
    size = spec.input_size
    height, width = image.shape[:2]
    scale = float(size) / min(height, width)
    new_h, new_w = max(size, int(round(height * scale))), max(size, int(round(width * scale)))
    resized = resize(image, (new_h, new_w), order=1, anti_aliasing=True, preserve_range=True)
    top, left = (new_h - size) // 2, (new_w - size) // 2
    crop = resized[top:top + size, left:left + size, :3] / 255.0
    if spec.channel_order == 'bgr':
        crop = crop[:, :, ::-1]
    crop = (crop - numpy.array(spec.mean)) / numpy.array(spec.std)
    return numpy.ascontiguousarray(crop.transpose(2, 0, 1)[None]).astype(numpy.float32)


def _model_names():
    from trt_classifier.models import MODELS
    return sorted(MODELS)


@pytest.mark.tensorrt
@pytest.mark.parametrize('model', _model_names())
def test_tensorrt_fp32_matches_chainer(real_trt, model, tmp_path):
    batch = numpy.random.RandomState(0).standard_normal((1, 3, 224, 224)).astype(numpy.float32)
    with create_backend('chainer', model, weights='random') as chainer_backend:
        expected = chainer_backend.infer(batch)
    with create_backend('tensorrt', model, weights='random', device='gpu', precision='fp32',
                        cache_dir=str(tmp_path)) as trt_backend:
        got = trt_backend.infer(batch)
    assert got.shape == expected.shape
    assert _relative_l2(got, expected) < 1e-3


@pytest.mark.tensorrt
def test_tensorrt_fp16_same_top1_on_chelsea(real_trt, tmp_path):
    from skimage import data
    from trt_classifier.models import get_spec, pretrained_available
    if not pretrained_available('efficientnet_lite0', str(tmp_path)):
        pytest.skip('efficientnet_lite0 pretrained weights are not available here')
    batch = _preprocess(get_spec('efficientnet_lite0'), data.chelsea())
    with create_backend('chainer', 'efficientnet_lite0', weights='pretrained',
                        cache_dir=str(tmp_path)) as chainer_backend:
        expected = chainer_backend.infer(batch)
    with create_backend('tensorrt', 'efficientnet_lite0', weights='pretrained', device='gpu',
                        precision='fp16', cache_dir=str(tmp_path)) as trt_backend:
        got = trt_backend.infer(batch)
        precision = trt_backend.precision
    if precision != 'fp16':
        pytest.skip('this GPU has no fast FP16: the engine was built fp32')
    assert int(numpy.argmax(got)) == int(numpy.argmax(expected))


@pytest.mark.tensorrt
def test_tensorrt_second_start_hits_cache_and_truncation_rebuilds(real_trt, tmp_path):
    batch = numpy.random.RandomState(1).standard_normal((1, 3, 224, 224)).astype(numpy.float32)
    first_log = RecordingLog()
    with _backend(tmp_path, first_log) as backend:
        path = backend.engine_path
        first = backend.infer(batch)
    assert any(m.startswith('building TensorRT engine') for m in first_log.infos)
    assert path and os.path.isfile(path)

    second_log = RecordingLog()
    with _backend(tmp_path, second_log) as backend:
        numpy.testing.assert_allclose(backend.infer(batch), first, rtol=1e-5, atol=1e-5)
    assert 'loaded cached TensorRT engine %s' % path in second_log.infos
    assert not [m for m in second_log.infos if m.startswith('building')]

    with open(path, 'r+b') as f:
        f.truncate(os.path.getsize(path) // 2)
    third_log = RecordingLog()
    with _backend(tmp_path, third_log) as backend:
        numpy.testing.assert_allclose(backend.infer(batch), first, rtol=1e-3, atol=1e-3)
    assert any('checksum mismatch' in m for m in third_log.infos
               if m.startswith('building TensorRT engine')), third_log.infos


@pytest.mark.tensorrt
def test_tensorrt_profile(real_trt, tmp_path):
    with _backend(tmp_path, RecordingLog()) as backend:
        report = backend.layer_times(runs=3)
    assert report['layers'] and report['total_ms'] > 0
    assert all(layer['reports'] == 3 for layer in report['layers'])
