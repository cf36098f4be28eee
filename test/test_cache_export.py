# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""The cache (atomic writes, checksums, fallback directory) and the ONNX export, cached.

The export goes through its pipeline step, ``artefacts.onnx_export`` (test_artefacts.py tests
the pipeline itself).
"""

import hashlib
import multiprocessing
import os
import shutil
import time

import numpy
import pytest
from support import RecordingLog

from trt_classifier import artefacts, cache, export, models
from trt_classifier.compat import import_chainer
from trt_classifier.errors import ClassifierError

PAYLOADS = (b'A' * (1 << 20), b'BC' * (3 << 19) + b'end', b'tiny')


# -- atomic writes and checksums ------------------------------------------------------------------

def test_atomic_write_creates_replaces_and_leaves_no_temp(tmp_path):
    path = os.path.join(str(tmp_path), 'sub', 'file.bin')
    cache.atomic_write(path, b'first')
    cache.atomic_write(path, b'second, longer')
    with open(path, 'rb') as f:
        assert f.read() == b'second, longer'
    assert os.listdir(os.path.dirname(path)) == ['file.bin']


def test_atomic_write_failure_keeps_the_old_file(tmp_path):
    path = str(tmp_path / 'file.bin')
    cache.atomic_write(path, b'old')
    with pytest.raises(TypeError):
        cache.atomic_write(path, u'not bytes')
    with open(path, 'rb') as f:
        assert f.read() == b'old'
    assert os.listdir(str(tmp_path)) == ['file.bin']


def test_write_with_digest_and_verify_reason(tmp_path):
    path = str(tmp_path / 'model.onnx')
    assert cache.verify_reason(path) == 'not cached yet'
    assert cache.read_verified(path) is None
    data = b'0123456789' * 1000
    digest = hashlib.sha256(data).hexdigest()
    assert cache.write_with_digest(path, data) == digest
    with open(path + '.sha256') as f:
        assert f.read() == digest
    assert cache.verify_reason(path) == ''
    assert cache.verify(path) == (digest, '')  # the digest that verified it, for cache keys
    assert cache.read_verified(path) == data
    assert cache.load_verified(path) == (data, '')
    assert cache.file_sha256(path) == digest
    with open(path, 'r+b') as f:  # a crash mid-copy, a full disk: a truncated file
        f.truncate(len(data) // 2)
    reason = cache.verify_reason(path)
    assert 'checksum mismatch' in reason and path in reason and 'truncated' in reason
    assert cache.verify(path) == ('', reason) and cache.load_verified(path) == (None, reason)
    assert cache.read_verified(path) is None


def test_verify_reason_without_sidecar(tmp_path):
    path = str(tmp_path / 'engine.plan')
    with open(path, 'wb') as f:
        f.write(b'plan')
    reason = cache.verify_reason(path)
    assert 'no checksum' in reason and path in reason


def test_file_sha256_names_a_missing_file(tmp_path):
    path = str(tmp_path / 'missing.npz')
    with pytest.raises(ClassifierError) as info:
        cache.file_sha256(path)
    assert path in str(info.value)


def _writer_reader(path, index, seconds, result):
    """Alternately write this process's payload and read whatever is there; count bad reads."""
    from trt_classifier import cache as worker_cache
    end = time.monotonic() + seconds
    reads = bad = writes = 0
    while time.monotonic() < end:
        worker_cache.atomic_write(path, PAYLOADS[(index + writes) % len(PAYLOADS)])
        writes += 1
        for _ in range(3):
            with open(path, 'rb') as f:
                data = f.read()
            reads += 1
            if data not in PAYLOADS:
                bad += 1
    result.put((index, writes, reads, bad))


def test_two_processes_never_read_a_partial_file(tmp_path):
    path = str(tmp_path / 'shared.bin')
    cache.atomic_write(path, PAYLOADS[0])
    ctx = multiprocessing.get_context('spawn')
    result = ctx.Queue()
    procs = [ctx.Process(target=_writer_reader, args=(path, i, 2.0, result)) for i in range(2)]
    for p in procs:
        p.start()
    outcomes = [result.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    for index, writes, reads, bad in outcomes:
        assert writes > 10 and reads > 30, (index, writes, reads)
        assert bad == 0, '%d of %d reads in process %d saw a partial file' % (bad, reads, index)
    with open(path, 'rb') as f:
        assert f.read() in PAYLOADS
    leftovers = [n for n in os.listdir(str(tmp_path)) if n != 'shared.bin']
    assert leftovers == []


# -- cache directory ------------------------------------------------------------------------------

def test_usable_cache_dir_creates_the_directory(tmp_path):
    path = str(tmp_path / 'a' / 'b')
    log = RecordingLog()
    assert cache.usable_cache_dir(path, log) == path
    assert os.path.isdir(path) and os.listdir(path) == []  # the probe is gone
    assert log.messages == []


def test_usable_cache_dir_falls_back_with_a_warning(tmp_path):
    # Tests may run as root, which chmod cannot stop: a directory under a FILE cannot exist.
    blocker = tmp_path / 'file.txt'
    blocker.write_text('not a directory')
    wanted = str(blocker / 'sub')
    log = RecordingLog()
    fallback = cache.usable_cache_dir(wanted, log)
    try:
        assert fallback != wanted and os.path.isdir(fallback)
        cache.atomic_write(os.path.join(fallback, 'x'), b'ok')
        warnings = [m for level, m in log.messages if level == 'warning']
        assert len(warnings) == 1
        assert wanted in warnings[0] and 'not writable' in warnings[0]
        assert fallback in warnings[0]
    finally:
        shutil.rmtree(fallback, ignore_errors=True)


def test_fallback_is_shared_and_logged_once(tmp_path):
    """Export, weights conversion and engine build each ask: one temp dir, one warning."""
    blocker = tmp_path / 'file.txt'
    blocker.write_text('')
    wanted = str(blocker / 'cache')
    log = RecordingLog()
    first = cache.usable_cache_dir(wanted, log)
    try:
        assert cache.usable_cache_dir(wanted, log) == first
        assert cache.usable_cache_dir(wanted, RecordingLog()) == first
        assert len(log.messages) == 1
        shutil.rmtree(first)  # a temp cleaner removed it: a new one, and say so
        second = cache.usable_cache_dir(wanted, log)
        assert second != first and os.path.isdir(second) and len(log.messages) == 2
        shutil.rmtree(second)
    finally:
        shutil.rmtree(first, ignore_errors=True)


def test_default_cache_dir_environment(monkeypatch, tmp_path):
    monkeypatch.setenv('TRT_CLASSIFIER_CACHE', str(tmp_path / 'explicit'))
    assert cache.default_cache_dir() == str(tmp_path / 'explicit')
    monkeypatch.delenv('TRT_CLASSIFIER_CACHE')
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert cache.default_cache_dir() == os.path.join(str(tmp_path / 'xdg'), 'trt_classifier')
    monkeypatch.delenv('XDG_CACHE_HOME')
    assert cache.default_cache_dir() == os.path.join(
        os.path.expanduser('~'), '.cache', 'trt_classifier')


# -- ONNX export ----------------------------------------------------------------------------------

onnx = pytest.importorskip('onnx')


@pytest.fixture(scope='module')
def export_dir(tmp_path_factory):
    """Return a cache of this module's own: these tests truncate and rewrite its files."""
    return str(tmp_path_factory.mktemp('export-cache'))


@pytest.fixture(scope='module')
def squeezenet_onnx(export_dir):
    log = RecordingLog()
    onnx_file = onnx_export('squeezenet1_1', 'random', export_dir, log)
    return onnx_file.path, onnx_file.sha256, log


def onnx_export(model, weights, cache_dir, log):
    return artefacts.onnx_export(artefacts.resolve_weights(model, weights, cache_dir), log=log)


def dims(value_info):
    return [d.dim_value for d in value_info.type.tensor_type.shape.dim]


def test_export_graph(squeezenet_onnx, export_dir):
    path, sha, log = squeezenet_onnx
    assert 'exporting squeezenet1_1 to ONNX (opset 11): not cached yet' in log.text('info')
    assert os.path.dirname(path) == os.path.join(export_dir, 'onnx')
    assert os.path.basename(path) == 'squeezenet1_1-random-seed0-op11-224-v%d.onnx' % (
        export.EXPORT_FORMAT)
    assert sha == cache.file_sha256(path) and cache.verify_reason(path) == ''
    proto = onnx.load(path)
    onnx.checker.check_model(proto)
    graph = proto.graph
    initializers = {init.name for init in graph.initializer}
    assert initializers  # the weights are there, as initializers ...
    assert [vi.name for vi in graph.input] == ['input']  # ... but not among the inputs
    assert not initializers & {vi.name for vi in graph.input}
    assert [n.op_type for n in graph.node if n.op_type == 'Dropout'] == []
    assert dims(graph.input[0]) == [1, 3, 224, 224]
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [vi.name for vi in graph.output] == ['logits']
    assert dims(graph.output[0]) == [1, 1000]
    opsets = {o.domain: o.version for o in proto.opset_import}
    assert opsets.get('', opsets.get('ai.onnx')) == 11 == export.DEFAULT_OPSET


def test_second_call_is_a_cache_hit(squeezenet_onnx, export_dir):
    path, sha, _log = squeezenet_onnx
    before = os.stat(path).st_mtime_ns
    time.sleep(0.05)
    log = RecordingLog()
    again = onnx_export('squeezenet1_1', 'random', export_dir, log)
    assert (again.path, again.sha256) == (path, sha)
    assert os.stat(path).st_mtime_ns == before
    assert 'exporting' not in log.text()


def test_changed_weights_give_a_different_onnx(squeezenet_onnx, export_dir, tmp_path):
    chainer = import_chainer()
    random_path, random_sha, _log = squeezenet_onnx
    npz = str(tmp_path / 'squeezenet.npz')
    model = models.get_spec('squeezenet1_1').build()
    chainer.serializers.save_npz(npz, model)
    first_file = onnx_export('squeezenet1_1', npz, export_dir, RecordingLog())
    first, first_sha = first_file.path, first_file.sha256
    assert first != random_path
    # Perturb one array and save over the same file: same path, new content, new export.
    param = next(p for name, p in sorted(model.namedparams()) if name.endswith('/W'))
    param.array[...] += numpy.float32(0.5)
    chainer.serializers.save_npz(npz, model)
    log = RecordingLog()
    second_file = onnx_export('squeezenet1_1', npz, export_dir, log)
    second, second_sha = second_file.path, second_file.sha256
    assert second != first and second_sha != first_sha
    assert 'exporting squeezenet1_1' in log.text('info')
    identity = artefacts.resolve_weights('squeezenet1_1', npz).identity
    assert identity in os.path.basename(second)
    assert os.path.isfile(first)  # the old entry is untouched


def test_truncated_onnx_is_exported_again(squeezenet_onnx, export_dir):
    path, sha, _log = squeezenet_onnx
    size = os.path.getsize(path)
    with open(path, 'r+b') as f:
        f.truncate(size // 3)
    log = RecordingLog()
    again_file = onnx_export('squeezenet1_1', 'random', export_dir, log)
    again, again_sha = again_file.path, again_file.sha256
    assert again == path
    text = log.text('info')
    assert 'exporting squeezenet1_1' in text and 'checksum mismatch' in text and path in text
    assert os.path.getsize(path) == size and cache.verify_reason(path) == ''
    assert again_sha == sha  # the export is deterministic
    onnx.checker.check_model(onnx.load(path))


def test_clean_graph_refuses_dropout():
    from onnx import helper, TensorProto
    node = helper.make_node('Dropout', ['input'], ['logits'], name='drop1')
    graph = helper.make_graph(
        [node], 'g', [helper.make_tensor_value_info('input', TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info('logits', TensorProto.FLOAT, [1, 4])])
    with pytest.raises(ClassifierError) as info:
        export.clean_graph(helper.make_model(graph))
    assert 'Dropout' in str(info.value) and 'drop1' in str(info.value)


def test_clean_graph_moves_initializers_out_of_the_inputs():
    from onnx import helper, numpy_helper, TensorProto
    weight = numpy_helper.from_array(numpy.ones((4, 2), numpy.float32), 'W')
    graph = helper.make_graph(
        [helper.make_node('MatMul', ['input', 'W'], ['logits'])], 'g',
        [helper.make_tensor_value_info('input', TensorProto.FLOAT, [1, 4]),
         helper.make_tensor_value_info('W', TensorProto.FLOAT, [4, 2])],
        [helper.make_tensor_value_info('logits', TensorProto.FLOAT, [1, 2])], [weight])
    cleaned = export.clean_graph(helper.make_model(graph))
    assert [vi.name for vi in cleaned.graph.input] == ['input']
    assert [init.name for init in cleaned.graph.initializer] == ['W']


def test_streamed_export_reads_back_as_onnx_chainers_model(squeezenet_onnx):
    """The file written chunk by chunk is, field for field, what onnx_chainer would build."""
    import onnx
    import onnx_chainer
    path, _sha, log = squeezenet_onnx
    chain = artefacts.chainer_model(artefacts.resolve_weights('squeezenet1_1', 'random'))
    x = numpy.zeros((1, 3, 224, 224), numpy.float32)
    chainer = import_chainer()
    with chainer.using_config('train', False), chainer.no_backprop_mode():
        reference = export.clean_graph(onnx_chainer.export(
            chain, x, opset_version=export.DEFAULT_OPSET, input_names=[export.INPUT_NAME],
            output_names=[export.OUTPUT_NAME], train=False))
    assert onnx.load(path) == reference
    assert len(reference.graph.initializer) == 52
    assert 'peak RSS' in log.text('info')


def test_onnx_chunks_frame_every_tensor_kind():
    """Empty, scalar, int64 and multi-byte-length tensors survive the hand-written framing."""
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    arrays = {'big': numpy.arange(40000, dtype=numpy.float32).reshape(200, 200),
              'shape': numpy.array([1, -1], numpy.int64), 'scalar': numpy.float32(2.5),
              'empty': numpy.zeros((0, 3), numpy.float32)}
    inits = []
    for name, array in arrays.items():
        tensor = numpy_helper.from_array(numpy.empty((0,), array.dtype), name)
        del tensor.dims[:]
        tensor.dims.extend(numpy.shape(array))
        inits.append(tensor)
    graph = helper.make_graph(
        [helper.make_node('Add', ['input', 'big'], ['logits'])], 'g',
        [helper.make_tensor_value_info('input', TensorProto.FLOAT, [200, 200])],
        [helper.make_tensor_value_info('logits', TensorProto.FLOAT, [200, 200])], inits)
    skeleton = helper.make_model(graph)
    export.check_skeleton(skeleton)
    data = b''.join(bytes(c) for c in export.onnx_chunks(skeleton, {
        k: numpy.asarray(v) for k, v in arrays.items()}))
    loaded = onnx.ModelProto.FromString(data)
    onnx.checker.check_model(loaded)
    for tensor in loaded.graph.initializer:
        numpy.testing.assert_array_equal(numpy_helper.to_array(tensor), arrays[tensor.name])
    assert loaded.graph.node[0].op_type == 'Add' and loaded.opset_import == skeleton.opset_import


def test_check_skeleton_names_the_problem():
    from onnx import helper, TensorProto
    graph = helper.make_graph(
        [helper.make_node('NoSuchOp', ['input'], ['logits'])], 'g',
        [helper.make_tensor_value_info('input', TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info('logits', TensorProto.FLOAT, [1, 4])])
    with pytest.raises(ClassifierError) as info:
        export.check_skeleton(helper.make_model(graph))
    assert 'onnx.checker' in str(info.value) and 'NoSuchOp' in str(info.value)


def test_write_chunks_with_digest(tmp_path):
    path = str(tmp_path / 'chunks.bin')
    chunks = [b'abc', memoryview(numpy.arange(5, dtype=numpy.uint8)), b'']
    digest = cache.write_chunks_with_digest(path, chunks)
    expected = b'abc' + bytes(range(5))
    assert digest == hashlib.sha256(expected).hexdigest()
    with open(path, 'rb') as f:
        assert f.read() == expected
    assert cache.verify_reason(path) == ''


def test_atomic_write_takes_any_buffer(tmp_path):
    """Take an engine as TensorRT hands it over (IHostMemory: the buffer protocol, not bytes)."""
    path = str(tmp_path / 'engine.bin')
    cache.atomic_write(path, numpy.arange(6, dtype=numpy.uint8))
    with open(path, 'rb') as f:
        assert f.read() == bytes(range(6))
