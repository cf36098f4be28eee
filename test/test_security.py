# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Hostile files, made here: pickled npz, zip bombs, huge headers, devices, FIFOs, open caches.

The unit tests drive the readers directly; the ``ros`` tests start a real classifier_node and
check that a hostile file given at start-up ends it with code 2 and one line, and that the same
file set at run time through the parameter service is refused while the node keeps serving.
"""

import io
import os
import stat
import struct
import tracemalloc
import zipfile

import numpy
import pytest
from support import Probe

from trt_classifier import artefacts, cache, cli, models, safe_npz
from trt_classifier.compat import import_chainer
from trt_classifier.errors import ClassifierError
from trt_classifier.imgconv import rgb_to_image_msg
from trt_classifier.preprocess import load_labels
from trt_classifier.safe_files import read_small_text_file

import test_node_e2e as e2e  # noqa: I100 (the sibling test module: its fixture and helpers)

MODEL = 'squeezenet1_1'
TEN_MB = 10 * 1024 * 1024


class MakeDirOnUnpickle(object):
    """An object whose unpickling runs ``os.mkdir(path)``: what a hostile weights file holds."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


@pytest.fixture(scope='module')
def arrays():
    """``{key: array}`` of SqueezeNet 1.1 as chainer.serializers.save_npz names them."""
    chainer = import_chainer()
    saver = chainer.serializers.DictionarySerializer()
    models.get_spec(MODEL).build().serialize(saver)
    return dict(saver.target)


def npy_bytes(array):
    buf = io.BytesIO()
    numpy.lib.format.write_array(buf, numpy.asanyarray(array), allow_pickle=True)
    return buf.getvalue()


def write_npz(path, arrays, compression=zipfile.ZIP_STORED, raw=None):
    """Write ``arrays`` as an npz; ``raw`` maps member keys to bytes written as they are."""
    with zipfile.ZipFile(str(path), 'w', compression) as zf:
        for key, value in arrays.items():
            zf.writestr(key + '.npy', raw[key] if raw and key in raw else npy_bytes(value))
    return str(path)


def evil_npz(tmp_path, arrays, marker):
    hostile = dict(arrays)
    hostile['conv1/W'] = numpy.array([MakeDirOnUnpickle(str(marker))], dtype=object)
    return write_npz(tmp_path / 'evil.npz', hostile)


def zip_bomb(tmp_path, arrays, inflated=200 * 1024 * 1024):
    """conv1/W's member is its header and then ``inflated`` zero bytes, deflated to ~200 KB."""
    path = str(tmp_path / 'bomb.npz')
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as zf:
        for key, value in arrays.items():
            if key != 'conv1/W':
                zf.writestr(key + '.npy', npy_bytes(value))
        with zf.open('conv1/W.npy', 'w', force_zip64=True) as member:
            member.write(npy_bytes(arrays['conv1/W'])[:128])
            zeros = bytes(1 << 20)
            for _ in range(inflated >> 20):
                member.write(zeros)
    return path


def huge_shape_npz(tmp_path, arrays):
    """conv1/W's header declares 10^5 x 10^5 x 10^3 float32 (40 TB); the entry holds 16 bytes."""
    text = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 1000), }"
    text += ' ' * (63 - (10 + len(text)) % 64) + '\n'  # .npy pads headers to 64 bytes
    header = b'\x93NUMPY\x01\x00' + struct.pack('<H', len(text)) + text.encode('ascii')
    return write_npz(tmp_path / 'huge.npz', arrays, raw={'conv1/W': header + bytes(16)})


def lying_size_npz(tmp_path, arrays):
    """Make the zip directory say conv1/W is small while its stream inflates to 50 MB."""
    true_size = len(npy_bytes(arrays['conv1/W']))
    data = npy_bytes(arrays['conv1/W']) + bytes(50 * 1024 * 1024)
    path = write_npz(tmp_path / 'lying.npz', arrays, zipfile.ZIP_DEFLATED,
                     raw={'conv1/W': data})
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo('conv1/W.npy')
    with open(path, 'r+b') as f:
        blob = bytearray(f.read())
        local = info.header_offset
        blob[local + 22:local + 26] = struct.pack('<I', true_size)  # local header
        central = blob.index(b'PK\x01\x02')
        while blob[central + 46:central + 46 + len('conv1/W.npy')] != b'conv1/W.npy':
            central = blob.index(b'PK\x01\x02', central + 4)
        blob[central + 24:central + 28] = struct.pack('<I', true_size)  # central directory
        f.seek(0)
        f.write(bytes(blob))
    return path


def peak_memory_of(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


# -- weights: pickle-free npz ---------------------------------------------------------------------

def test_object_array_npz_is_refused_and_runs_nothing(tmp_path, arrays):
    marker = tmp_path / 'code-ran'
    path = evil_npz(tmp_path, arrays, marker)
    with pytest.raises(ClassifierError) as info:
        artefacts.chainer_model(artefacts.resolve_weights(MODEL, path))
    message = str(info.value)
    assert path in message and "'conv1/W'" in message and 'dtype object' in message
    assert '\n' not in message
    assert not marker.exists()
    # the file really is hostile: Chainer's own loader runs its code
    chainer = import_chainer()
    with pytest.raises(Exception):
        chainer.serializers.load_npz(path, models.get_spec(MODEL).build())
    assert marker.exists()


def test_cli_export_refuses_an_object_array_npz(tmp_path, arrays, capsys):
    marker = tmp_path / 'code-ran'
    path = evil_npz(tmp_path, arrays, marker)
    code = cli.main(['--cache-dir', str(tmp_path / 'cache'), 'export', '--model', MODEL,
                     '--weights', path])
    err = capsys.readouterr().err
    assert code == 2 and 'conv1/W' in err and len(err.strip().splitlines()) == 1, err
    assert not marker.exists()


def test_saved_npz_loads_exactly_as_chainer_loads_it(tmp_path, arrays):
    chainer = import_chainer()
    rng = numpy.random.RandomState(3)
    changed = {k: (rng.normal(size=v.shape).astype(v.dtype) if v.ndim else v)
               for k, v in arrays.items()}
    path = write_npz(tmp_path / 'ok.npz', changed, zipfile.ZIP_DEFLATED)
    ours = safe_npz.load_into(models.get_spec(MODEL).build(), path)
    theirs = models.get_spec(MODEL).build()
    chainer.serializers.load_npz(path, theirs)
    for (name, a), (_n, b) in zip(sorted(ours.namedparams()), sorted(theirs.namedparams())):
        numpy.testing.assert_array_equal(a.array, b.array, err_msg=name)
    numpy.testing.assert_array_equal(ours.conv1.W.array, changed['conv1/W'])


def test_batchnorm_statistics_and_counts_are_loaded(tmp_path):
    chainer = import_chainer()
    model = models.get_spec('efficientnet_lite0').build()
    bns = [link for link in model.links() if isinstance(link, chainer.links.BatchNormalization)]
    bns[0].avg_mean[...] = 0.25
    bns[0].N = 7
    path = str(tmp_path / 'eff.npz')
    chainer.serializers.save_npz(path, model)
    loaded = artefacts.chainer_model(artefacts.resolve_weights('efficientnet_lite0', path))
    first = [link for link in loaded.links()
             if isinstance(link, chainer.links.BatchNormalization)][0]
    assert (first.avg_mean == 0.25).all() and first.N == 7 and type(first.N) is int


def test_float64_weights_are_cast_like_chainer(tmp_path, arrays):
    wide = dict(arrays, **{'conv1/W': arrays['conv1/W'].astype(numpy.float64) + 0.5})
    model = safe_npz.load_into(models.get_spec(MODEL).build(),
                               write_npz(tmp_path / 'f64.npz', wide))
    assert model.conv1.W.dtype == numpy.float32
    numpy.testing.assert_allclose(model.conv1.W.array, wide['conv1/W'], rtol=1e-6)


@pytest.mark.parametrize('make,expected', [
    (zip_bomb, 'refusing to inflate it'),
    (huge_shape_npz, 'declares shape (100000, 100000, 1000)'),
    (lying_size_npz, 'Bad CRC-32'),  # zipfile stops at the declared size
])
def test_bombs_are_refused_without_inflating_or_allocating(tmp_path, arrays, make, expected):
    path = make(tmp_path, arrays)
    errors = []

    def load():
        try:
            artefacts.chainer_model(artefacts.resolve_weights(MODEL, path))
        except ClassifierError as exc:
            errors.append(str(exc))
    peak = peak_memory_of(load)
    assert errors and expected in errors[0] and "'conv1/W'" in errors[0], errors
    assert path in errors[0] and '\n' not in errors[0]
    assert peak < 40 * 1024 * 1024, peak  # the model is ~5 MB; the bombs inflate to 50+ MB


@pytest.mark.parametrize('name_chars,expected', [
    (8, 'has 12000 members (at most 10000)'),
    (200, '-byte zip directory (at most 2097152); refusing to parse it'),
])
def test_archives_with_too_many_entries_are_refused_before_parsing(tmp_path, name_chars,
                                                                   expected):
    path = str(tmp_path / 'many.npz')
    empty = npy_bytes(numpy.zeros((0,), numpy.float32))
    with zipfile.ZipFile(path, 'w') as zf:
        for i in range(12000):
            zf.writestr('%0*d.npy' % (name_chars, i), empty)
    with pytest.raises(ClassifierError) as info:
        artefacts.resolve_weights(MODEL, path)
    assert expected in str(info.value) and path in str(info.value), str(info.value)


@pytest.mark.parametrize('change,expected', [
    (lambda a: a['conv1/W'].astype(numpy.complex64), 'has dtype <c8; weights must be'),
    (lambda a: numpy.array(['x'] * 4), 'has dtype <U1; weights must be'),
    (lambda a: a['conv1/W'][..., :2], 'has shape (64, 3, 3, 2), the model expects (64, 3, 3, 3)'),
    (lambda a: numpy.zeros((2, 2), [('a', 'f4'), ('b', 'i4')]), 'has dtype'),
])
def test_wrong_dtype_or_shape_names_the_array(tmp_path, arrays, change, expected):
    path = write_npz(tmp_path / 'wrong.npz', dict(arrays, **{'conv1/W': change(arrays)}))
    with pytest.raises(ClassifierError) as info:
        artefacts.chainer_model(artefacts.resolve_weights(MODEL, path))
    assert expected in str(info.value) and "'conv1/W'" in str(info.value), str(info.value)


def test_missing_array_is_an_error(tmp_path, arrays):
    path = write_npz(tmp_path / 'short.npz', {k: v for k, v in arrays.items() if k != 'conv1/b'})
    with pytest.raises(ClassifierError) as info:
        artefacts.chainer_model(artefacts.resolve_weights(MODEL, path))
    assert "has no array 'conv1/b'" in str(info.value)


@pytest.mark.parametrize('cut', [0.5, 0.999])
def test_truncated_archive_gives_one_line(tmp_path, arrays, cut):
    path = write_npz(tmp_path / 'cut.npz', arrays, zipfile.ZIP_DEFLATED)
    with open(path, 'r+b') as f:
        f.truncate(int(os.path.getsize(path) * cut))
    with pytest.raises(ClassifierError) as info:
        artefacts.chainer_model(artefacts.resolve_weights(MODEL, path))
    message = str(info.value)
    assert 'is not a readable .npz archive' in message and path in message, message
    assert '\n' not in message


def test_corrupted_member_fails_its_crc(tmp_path, arrays):
    path = write_npz(tmp_path / 'flip.npz', arrays)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo('conv1/W.npy')
    with open(path, 'r+b') as f:  # stored member: flip a data byte after the .npy header
        f.seek(info.header_offset + 30 + len(info.filename) + 200)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ClassifierError) as info:
        artefacts.chainer_model(artefacts.resolve_weights(MODEL, path))
    assert 'CRC' in str(info.value) and "'conv1/W'" in str(info.value), str(info.value)


def test_weights_that_are_not_regular_files(tmp_path):
    fifo = str(tmp_path / 'weights.npz')
    os.mkfifo(fifo)
    for path, kind in ((fifo, 'a FIFO'), ('/dev/zero', 'a character device')):
        with pytest.raises(ClassifierError) as info:
            artefacts.resolve_weights(MODEL, path)
        assert 'is not a regular file (%s)' % kind in str(info.value)


def test_oversized_weights_file_is_refused_before_reading(tmp_path):
    path = str(tmp_path / 'big.npz')
    with open(path, 'wb') as f:
        f.truncate(models.max_weights_bytes(MODEL) + 1)  # sparse: no disk used
    with pytest.raises(ClassifierError) as info:
        artefacts.resolve_weights(MODEL, path)
    assert 'has %d bytes' % (models.max_weights_bytes(MODEL) + 1) in str(info.value)


# -- labels and other small files -----------------------------------------------------------------

def test_labels_from_devices_fifos_and_huge_lines_are_refused(tmp_path):
    fifo = str(tmp_path / 'labels.fifo')
    os.mkfifo(fifo)  # nobody writes: a blocking open would hang here
    one_line = tmp_path / 'one-line.txt'
    one_line.write_bytes(b'x' * TEN_MB)
    long_line = tmp_path / 'long-line.txt'
    long_line.write_bytes(b'cat\n' + b'y' * 100000 + b'\n')
    binary = tmp_path / 'binary.txt'
    binary.write_bytes(b'cat\n\xff\xfe\n')
    cases = [
        ('/dev/zero', 'is not a regular file (a character device)'),
        (fifo, 'is not a regular file (a FIFO)'),
        (str(tmp_path), 'is not a regular file (a directory)'),
        (str(one_line), 'has %d bytes, more than the 1048576 accepted' % TEN_MB),
        (str(long_line), 'line 2 has 100000 characters (at most 4096)'),
        (str(binary), 'is not utf-8 text'),
    ]
    for path, expected in cases:
        with pytest.raises(ClassifierError) as info:
            load_labels(path)
        message = str(info.value)
        assert message.startswith('labels file ') or message.startswith('cannot read labels')
        assert expected in message and path in message and '\n' not in message, message


def test_read_small_text_file_reads_a_small_file(tmp_path):
    path = tmp_path / 'card.yaml'
    path.write_text(u'name: x\n')
    assert read_small_text_file(str(path), 'model card', 100) == u'name: x\n'
    assert load_labels()[:2] == ['tench', 'goldfish']


# -- the cache directory --------------------------------------------------------------------------

def test_cache_dir_is_created_private(tmp_path):
    path = str(tmp_path / 'new' / 'cache')
    assert cache.usable_cache_dir(path) == path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o700
    cache.write_with_digest(os.path.join(path, 'engines', 'x.engine'), b'blob')
    assert stat.S_IMODE(os.stat(os.path.join(path, 'engines')).st_mode) == 0o700


@pytest.mark.parametrize('where,mode,expected', [
    ('.', 0o770, 'is writable by its group (mode 770)'),
    ('.', 0o757, 'is writable by others (mode 757)'),
    ('engines', 0o777, 'engines is writable by others'),
])
def test_cache_dir_others_can_write_is_refused(tmp_path, where, mode, expected):
    path = str(tmp_path / 'cache')
    os.makedirs(os.path.join(path, 'engines'), mode=0o700)
    os.chmod(os.path.join(path, where), mode)
    with pytest.raises(ClassifierError) as info:
        cache.usable_cache_dir(path)
    message = str(info.value)
    assert message.startswith('refusing cache directory %s: ' % path) and expected in message
    assert 'chmod 700' in message and '\n' not in message


def test_cache_dir_under_an_open_parent_is_refused(tmp_path):
    parent = tmp_path / 'open'
    parent.mkdir()
    os.chmod(str(parent), 0o777)
    with pytest.raises(ClassifierError) as info:
        cache.usable_cache_dir(str(parent / 'cache'))
    assert 'parent %s is writable by others without the sticky bit' % parent in str(info.value)
    os.chmod(str(parent), 0o1777)  # sticky, like /tmp: others cannot rename our directory
    assert cache.usable_cache_dir(str(parent / 'cache')) == str(parent / 'cache')


def test_cached_file_others_can_write_is_rebuilt(tmp_path):
    path = os.path.join(str(tmp_path), 'engines', 'm.engine')
    cache.write_with_digest(path, b'engine bytes')
    assert cache.verify_reason(path) == ''
    os.chmod(path, 0o666)
    assert 'is writable by others' in cache.verify_reason(path)
    assert cache.read_verified(path) is None


# -- through a real node: start-up and runtime parameter changes ----------------------------------

def labels_fifo(tmp_path):
    path = str(tmp_path / 'labels.fifo')
    os.mkfifo(path)
    return path


def labels_one_line(tmp_path):
    path = tmp_path / 'labels.txt'
    path.write_bytes(b'z' * TEN_MB)
    return str(path)


HOSTILE = {
    'evil-npz': ('weights', lambda tmp, arrays: evil_npz(tmp, arrays, tmp / 'code-ran'),
                 'holds Python objects (dtype object)'),
    'zip-bomb': ('weights', zip_bomb, 'refusing to inflate it'),
    'huge-shape': ('weights', huge_shape_npz, 'declares shape (100000, 100000, 1000)'),
    'dev-zero': ('labels', lambda tmp, arrays: '/dev/zero', 'a character device'),
    'fifo': ('labels', lambda tmp, arrays: labels_fifo(tmp), 'a FIFO'),
    '10mb-line': ('labels', lambda tmp, arrays: labels_one_line(tmp), 'more than the 1048576'),
}


start_node = e2e.start_node  # the fixture: a classifier_node process, cleaned up after the test


def error_lines(node):
    assert node.wait(120) == 2, node.output()
    out = node.output()
    assert 'Traceback' not in out, out
    return [line for line in out.splitlines() if '[ERROR]' in line]


@pytest.mark.ros
@pytest.mark.timeout(300)
@pytest.mark.parametrize('case', sorted(HOSTILE))
def test_hostile_file_at_start_up_exits_2_with_one_line(start_node, tmp_path, arrays, case):
    name, make, expected = HOSTILE[case]
    path = make(tmp_path, arrays)
    params = {'backend': 'null', 'model': MODEL, 'weights': 'random', name: path}
    errors = error_lines(start_node('/hostile', **params))
    assert len(errors) == 1 and expected in errors[0] and path in errors[0], errors
    assert not (tmp_path / 'code-ran').exists()


@pytest.mark.ros
@pytest.mark.timeout(300)
def test_open_cache_dir_at_start_up_exits_2_with_one_line(start_node, tmp_path):
    open_cache = tmp_path / 'shared-cache'
    open_cache.mkdir()
    os.chmod(str(open_cache), 0o777)
    errors = error_lines(start_node('/opencache', backend='null', cache_dir=str(open_cache)))
    assert len(errors) == 1 and 'refusing cache directory %s' % open_cache in errors[0], errors


@pytest.mark.ros
@pytest.mark.timeout(600)
def test_hostile_runtime_changes_are_refused_and_the_node_keeps_serving(
        start_node, tmp_path, arrays):
    node = start_node('/guard', backend='chainer', model=MODEL, weights='random')
    probe = Probe('/guard')
    try:
        assert probe.wait_subscribed(60), node.output()
        first = probe.classify(rgb_to_image_msg(e2e.photo(), 'rgb8'), timeout=180)
        assert first is not None and first['backend'] == 'chainer', node.output()
        for case in sorted(HOSTILE):
            name, make, expected = HOSTILE[case]
            case_dir = tmp_path / case
            case_dir.mkdir()
            result = e2e._set_param(probe, '/guard/classifier', name, make(case_dir, arrays))
            assert not result.successful and expected in result.reason, (case, result.reason)
        other = str(tmp_path / 'other-cache')
        result = e2e._set_param(probe, '/guard/classifier', 'cache_dir', other)
        assert not result.successful and 'cache_dir' in result.reason, result.reason
        after = probe.classify(rgb_to_image_msg(e2e.photo(), 'rgb8'), timeout=60)
    finally:
        probe.close()
    assert after is not None and after['label'] == first['label'], node.output()
    assert after['weights'] == 'random' and after['model'] == MODEL
    assert not os.path.exists(other) and not list(tmp_path.glob('*/code-ran'))
    out = node.output()
    assert out.count('refused parameter change') == len(HOSTILE), out
    assert 'Traceback' not in out


@pytest.mark.ros
def test_parameter_callback_refuses_cache_dir_on_its_own(
        tmp_path, cache_dir, classifier_in_process):
    """The backstop behind rclpy's read_only check: the node's own callback refuses too."""
    from rclpy.parameter import Parameter
    node = classifier_in_process(backend='null', cache_dir=cache_dir)
    descriptor = node.describe_parameter('cache_dir')
    assert descriptor.read_only and 'executable code' in descriptor.description
    result = node._on_set_parameters([Parameter('cache_dir', value=str(tmp_path))])
    assert not result.successful
    assert result.reason == ('cache_dir can only be set at start-up: it holds TensorRT '
                             'engines, which are executable code')
    assert node.config['cache_dir'] == cache_dir
    same = node._on_set_parameters([Parameter('cache_dir', value=cache_dir)])
    assert same.successful, same.reason
