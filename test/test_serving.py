# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""serving.Classifier in-process, no ROS: every transition of the reload state machine.

Real backends: null (loads at once), Chainer with the user's TinyNet (a real load that fails when
the labels do not match its 4 classes), ONNX Runtime for a real swap between runtimes.
"""

import logging
import os
import threading

import numpy
import pytest

from trt_classifier import schema
from trt_classifier.errors import ClassifierError
from trt_classifier.serving import (Classifier, DEGRADED, ERROR, LOAD, LOADED, LOADING, READY,
                                    TRANSITIONS)

FRAME = numpy.full((48, 64, 3), 128, numpy.uint8)
# a real Chainer model whose load fails: TinyNet outputs 4 classes, the default labels are 1000
FAILS_TO_LOAD = {'backend': 'chainer', 'model': 'tiny_chainer_net:TinyNet', 'weights': 'random'}
# what the fixture's cores serve after their first load
FIRST = {'backend': 'null', 'model': 'efficientnet_lite0', 'weights': 'auto'}


@pytest.fixture
def log():
    return logging.getLogger('test_serving')


@pytest.fixture
def make(log, cache_dir):
    made = []

    def make_core(**changes):
        values = dict(schema.DEFAULTS, backend='null', cache_dir=cache_dir)
        values.update(changes)
        core = Classifier(values, log)
        made.append(core)
        return core
    yield make_core
    for core in made:
        core.close()


@pytest.fixture
def serving(make):
    """Make cores that have loaded their first backend (null, FIRST) and serve."""
    def make_serving(**values):
        core = make(**values)
        core.reload()
        assert core.state == READY
        return core
    return make_serving


def during_load(core, action):
    """Run ``action`` while ``core`` loads its next backend (after creating, before the swap)."""
    create = core._create_backend

    def create_then_act(config):
        backend = create(config)
        action()
        return backend
    core._create_backend = create_then_act


def test_the_transition_table_is_closed():
    states = {LOADING, READY, DEGRADED, ERROR}
    assert {s for s, _event in TRANSITIONS} <= states
    assert set(TRANSITIONS.values()) <= states
    # every state can start a load, and a load can end in every state
    assert all(TRANSITIONS[(s, LOAD)] == LOADING for s in states)
    assert {TRANSITIONS[k] for k in TRANSITIONS if k[0] == LOADING} == states


def test_start_load_classify(make):
    core = make(top_k=3)
    assert (core.state, core.pending, core.backend) == (LOADING, True, None)
    assert core.classify(FRAME) is None  # nothing served yet: the node counts the frame failed
    core.reload()
    assert (core.state, core.pending, core.error) == (READY, False, '')
    result = core.classify(FRAME)
    # null's fixed logits: class 0 first
    assert (result.index, result.label) == (0, 'tench') and len(result.best) == 3
    assert result.top_k()[0] == [0, 'tench', result.score] and 0 < result.score < 1
    assert result.preprocess_ms > 0 and result.inference_ms >= 0
    assert result.backend is core.backend and core.window.summary()['n'] == 1


@pytest.mark.parametrize('exit_on_start_failure', [True, False])
def test_first_load_fails(make, exit_on_start_failure):
    core = make(exit_on_start_failure=exit_on_start_failure, **FAILS_TO_LOAD)
    core.reload()
    assert core.state == ERROR and core.backend is None
    assert core.error.startswith('requested chainer/tiny_chainer_net:TinyNet: ClassifierError: '
                                 'labels file imagenet_classes.txt has 1000 class names, but '
                                 'model tiny_chainer_net:TinyNet outputs 4 classes')
    assert core.fatal == exit_on_start_failure  # the node ends with exit code 2, or stays up
    assert not core.pending and core.classify(FRAME) is None


def test_reload_keeps_serving_then_swaps_and_releases(serving):
    core = serving()
    old = core.backend
    core.update({'backend': 'onnxruntime', 'model': 'squeezenet1_1', 'weights': 'random'})
    assert core.pending and core.reload_wanted() and core.state == READY
    # until the worker loads it, frames get the served backend with its own settings
    assert core.settings['backend'] == 'null' and core.settings['model'] == 'efficientnet_lite0'
    assert core.classify(FRAME).backend is old
    seen = []
    during_load(core, lambda: seen.append((core.state, core.backend)))
    core.reload()
    assert seen == [(LOADING, old)]  # keep_serving: the old backend stays while loading
    assert core.state == READY and not core.pending and not core.reload_wanted()
    assert core.backend.name == 'onnxruntime' and not old.loaded  # the old one released
    result = core.classify(FRAME)
    assert result.backend.name == 'onnxruntime' and result.settings['model'] == 'squeezenet1_1'


def test_release_first_releases_before_loading(serving):
    core = serving(reload_policy='release_first')
    old = core.backend
    core.update({'model': 'squeezenet1_1'})
    seen = []
    during_load(core, lambda: seen.append((core.backend, old.loaded)))
    core.reload()
    assert seen == [(None, False)]
    assert core.state == READY and core.backend.model_name == 'squeezenet1_1'


def test_failed_reload_keeps_serving_then_request_back_is_ready(serving):
    core = serving()
    served = core.backend
    core.update(FAILS_TO_LOAD)
    core.reload()
    assert core.state == DEGRADED and core.backend is served and not core.fatal
    assert core.error.startswith('requested chainer/tiny_chainer_net:TinyNet')
    assert core.classify(FRAME).backend is served  # still serving, with the served settings
    assert core.settings['backend'] == 'null' and not core.pending
    # naming a reload setting again retries the failed request
    core.update({'weights': 'random'})
    assert core.pending
    core.reload()
    assert core.state == DEGRADED
    # asking for what is served again: nothing failed any more, nothing to load
    core.update(FIRST)
    assert (core.state, core.error, core.pending) == (READY, '', False)


def test_failed_reload_under_release_first_is_error_until_a_load_succeeds(serving):
    core = serving(reload_policy='release_first')
    core.update(FAILS_TO_LOAD)
    core.reload()
    assert core.state == ERROR and core.backend is None
    assert not core.fatal  # a node that once served stays up
    assert core.classify(FRAME) is None
    core.update({'backend': 'null', 'model': 'squeezenet1_1'})
    assert core.pending
    core.reload()
    assert core.state == READY and core.backend.model_name == 'squeezenet1_1'


def test_request_reverted_during_a_failing_load_is_ready(serving):
    core = serving()
    served = core.backend
    core.update(FAILS_TO_LOAD)
    during_load(core, lambda: core.update(FIRST))
    core.reload()
    assert (core.state, core.error, core.pending) == (READY, '', False)
    assert core.backend is served


def test_request_reverted_during_a_succeeding_load_loads_it_back(serving):
    core = serving()
    core.update({'model': 'squeezenet1_1'})
    during_load(core, lambda: core.update({'model': 'efficientnet_lite0'}))
    core.reload()
    # the load that was running finished and serves; the request is back: load it again
    assert core.backend.model_name == 'squeezenet1_1' and core.state == READY
    assert core.pending and core.reload_wanted()
    core._create_backend = type(core)._create_backend.__get__(core)
    core.reload()
    assert core.backend.model_name == 'efficientnet_lite0' and not core.pending


def test_per_frame_settings_apply_while_a_reload_is_pending(serving, tmp_path):
    core = serving()
    core.update({'model': 'squeezenet1_1'})
    assert core.pending
    labels = tmp_path / 'labels.txt'
    labels.write_text(''.join('class %d\n' % i for i in range(1000)))
    core.update({'top_k': 2, 'labels': str(labels)})
    result = core.classify(FRAME)
    # the next frame: the served model, with the new top_k and labels
    assert result.settings['model'] == 'efficientnet_lite0' and len(result.best) == 2
    assert result.label == 'class 0'
    assert core.requested['model'] == 'squeezenet1_1' and core.pending


def test_changes_while_loading_are_loaded_next(serving):
    """update() on the parameter thread while the worker loads (the lock is not held then)."""
    core = serving()
    core.update({'model': 'squeezenet1_1'})
    loading, go_on = threading.Event(), threading.Event()

    def wait_in_load():
        loading.set()
        assert go_on.wait(30)
    during_load(core, wait_in_load)
    worker = threading.Thread(target=core.reload)
    worker.start()
    assert loading.wait(30)
    core.update({'model': 'vgg16', 'top_k': 1})  # from "the parameter thread"
    assert core.state == LOADING and core.pending
    go_on.set()
    worker.join(30)
    assert core.backend.model_name == 'squeezenet1_1' and core.pending
    assert len(core.classify(FRAME).best) == 1


def test_refused_changes_leave_everything_as_it_was(serving):
    core = serving()
    before = core.requested
    for changes, reason in (({'top_k': 0}, 'top_k must be in 1..1000, not 0'),
                            ({'backend': 'caffe'}, 'backend must be one of chainer, null, '),
                            ({'weights': '/nonexistent.npz'}, 'weights file /nonexistent.npz '
                                                              'does not exist'),
                            ({'backend': 'chainer', 'model': '/tmp'},
                             'model must be one of')):
        with pytest.raises(ClassifierError) as info:
            core.update(changes)
        assert reason in str(info.value) and '\n' not in str(info.value)
        assert core.requested is before and not core.pending and core.state == READY


def test_invalid_start_values_are_one_line(log):
    with pytest.raises(ClassifierError, match=r'^invalid parameter: mean must have 3 values'):
        Classifier(dict(schema.DEFAULTS, backend='null', mean=[0.5]), log)


def test_stop_while_loading_releases_what_was_loaded(make):
    core = make()
    loaded = []
    create = core._create_backend

    def create_and_stop(config):
        backend = create(config)
        loaded.append(backend)
        core.stop()
        return backend
    core._create_backend = create_and_stop
    core.reload()
    assert core.backend is None and not loaded[0].loaded and core.state == LOADING


def test_transitions_are_checked(serving):
    core = serving()
    with pytest.raises(AssertionError, match='no transition from ready on loaded'):
        core._transition(LOADED)


def _describe_fails(core):
    """Make the next backend's describe() fail: the load has swapped, its last step fails."""
    create = core._create_backend

    def create_broken(config):
        backend = create(config)

        def describe():
            raise RuntimeError('describe failed')
        backend.describe = describe
        return backend
    core._create_backend = create_broken


def test_a_failure_after_the_swap_keeps_what_serves(serving):
    core = serving()
    core.update({'model': 'squeezenet1_1'})
    _describe_fails(core)
    core.reload()
    # the new backend serves; what was asked is served: nothing to report
    assert (core.state, core.error) == (READY, '')
    assert core.classify(FRAME).backend.model_name == 'squeezenet1_1'


def test_a_failure_after_the_swap_with_a_newer_request_is_degraded(serving):
    core = serving()
    core.update({'model': 'squeezenet1_1'})
    _describe_fails(core)
    create = core._create_backend

    def create_then_ask_again(config):
        backend = create(config)
        core.update({'model': 'vgg16'})
        return backend
    core._create_backend = create_then_ask_again
    core.reload()
    assert core.state == DEGRADED and core.error == 'reload failed: RuntimeError: describe failed'
    assert core.backend.model_name == 'squeezenet1_1' and core.pending


def test_cli_classify_uses_the_core_on_real_photos(cache_dir, capsys):
    """`trt-classifier classify`: Chainer and ONNX Runtime name the photo's class alike."""
    from trt_classifier.cli import main as cli_main
    from trt_classifier.frames import samples_dir
    coffee = os.path.join(samples_dir(), 'coffee.jpg')
    firsts = []
    for backend in ('chainer', 'onnxruntime'):
        assert cli_main(['--cache-dir', cache_dir, 'classify', coffee, '--backend', backend,
                         '--weights', 'pretrained', '--top-k', '2']) == 0
        line = capsys.readouterr().out.strip()
        assert line.startswith('coffee.jpg: espresso ')
        firsts.append(line.split('(')[0])
    assert firsts[0] == firsts[1]  # same label and score to 4 decimals


def test_cli_classify_reports_a_bad_file_and_goes_on(cache_dir, tmp_path, capsys):
    from trt_classifier.cli import main as cli_main
    from trt_classifier.frames import sample_paths
    bad = tmp_path / 'not-an-image.jpg'
    bad.write_text('hello')
    assert cli_main(['--cache-dir', cache_dir, 'classify', str(bad), sample_paths()[0],
                     '--backend', 'null']) == 1
    out = capsys.readouterr().out
    assert os.path.basename(sample_paths()[0]) in out and 'not-an-image' not in out
    assert cli_main(['classify', sample_paths()[0], '--top-k', '0']) == 2
    assert 'top_k must be in 1..1000, not 0' in capsys.readouterr().err
