# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""serving: the ROS-free core. Settings in, backend loaded and swapped by policy, frame -> result.

:class:`Classifier` holds what the node used to hold between its parameter callback and its worker
thread: the requested settings (a validated :class:`Config`), the backend being served with the
settings it was loaded with, and the reload state machine. ROS stays in classifier_node.py, which
turns parameter changes into :meth:`Classifier.update` calls, calls :meth:`Classifier.reload` from
its worker when :attr:`Classifier.pending` says so, and turns :meth:`Classifier.classify` results
into messages.

The reload state machine (``TRANSITIONS`` lists every move)::

    LOADING --loaded--> READY            LOADING --failed, old backend serves--> DEGRADED
    LOADING --failed, nothing to serve--> ERROR (and fatal at start-up if asked)
    LOADING --failed, request went back to what is served--> READY
    READY | DEGRADED | ERROR --load--> LOADING
    DEGRADED --request back to what is served--> READY

Threads: :meth:`update` runs on the parameter callback's thread, :meth:`reload` and
:meth:`classify` on the worker's. One lock guards the requested settings, the pending flag and
the state; the served (backend, per-frame settings) pair is one attribute, replaced whole, so a
frame never mixes a backend with another backend's settings. Loading happens outside the lock.
"""

import json
import os
import threading
import time

from trt_classifier import backends, cache, models, schema
from trt_classifier.backends.base import parse_device
from trt_classifier.errors import ClassifierError
from trt_classifier.models import user as user_models
from trt_classifier.preprocess import label_of, load_labels, Preprocessor, top_k
from trt_classifier.stats import Window

# --- the reload state machine -----------------------------------------------------------------
LOADING = 'loading'    # a load is running (or about to: the first one)
READY = 'ready'        # serving what was requested
DEGRADED = 'degraded'  # the last requested load failed; the previous backend keeps serving
ERROR = 'error'        # nothing to serve with; frames count as failed

LOAD = 'load'                # the worker starts loading the requested settings
LOADED = 'loaded'            # the new backend serves
FAILED_KEEP = 'failed, old backend serves'
FAILED_EMPTY = 'failed, nothing to serve'
REVERTED = 'request went back to what is served'

TRANSITIONS = {
    (LOADING, LOADED): READY,
    (LOADING, FAILED_KEEP): DEGRADED,
    (LOADING, FAILED_EMPTY): ERROR,
    (LOADING, REVERTED): READY,
    (READY, LOAD): LOADING,
    (DEGRADED, LOAD): LOADING,
    (ERROR, LOAD): LOADING,
    (LOADING, LOAD): LOADING,  # the first load: the core starts in LOADING
    (DEGRADED, REVERTED): READY,
    # a failure after the swap (describing the new backend): what serves is kept
    (READY, FAILED_KEEP): DEGRADED,
    (READY, REVERTED): READY,
}


def weights_problem(values):
    """'' if a weights path in ``values`` is a pickle-free npz within the model's size, else why.

    Only the archive's directory and member headers are read (milliseconds): a hostile file is
    refused before the worker builds or loads anything.
    """
    weights = values['weights']
    if weights in schema.WEIGHTS_CHOICES:
        return ''
    try:
        models.check_weights_file(values['model'], os.path.expanduser(weights))
    except ClassifierError as exc:
        return str(exc)
    return ''


class _OnDevice(object):
    """Run a GPU preprocessor with CUDA device ``device_id`` current (the worker's thread)."""

    def __init__(self, preprocessor, device_id):
        self.preprocessor, self.device_id = preprocessor, device_id

    def __call__(self, rgb):
        cupy = self.preprocessor.cupy
        with cupy.cuda.Device(self.device_id):
            batch = self.preprocessor(rgb)
            # preprocess_ms must not leak into inference_ms: wait for the kernel here.
            cupy.cuda.get_current_stream().synchronize()
            return batch


def _classes_mismatch(config, classes):
    return ClassifierError('labels file %s has %d class names, but model %s outputs %d '
                           'classes' % (config.labels_path or 'imagenet_classes.txt',
                                        len(config.labels), config['model'], classes))


class Config(object):
    """An immutable snapshot of validated settings: what a frame and a load use."""

    def __init__(self, values):
        self.values = dict(values)
        self.spec = spec = user_models.apply_card(models.get_spec(values['model']),
                                                  values['weights'])
        if spec.kind == 'onnx' and values['backend'] == 'chainer':
            raise ClassifierError(
                'backend chainer cannot run the ONNX file %s (Chainer has no ONNX importer); use '
                'backend:=onnxruntime or backend:=tensorrt, or a Chainer class with '
                'model:=package.module:ClassName' % spec.path)
        custom = values['normalize'] == 'custom'
        mean, std = spec.mean, spec.std
        if custom:
            mean, std = user_models.to_unit_range(values['mean'], values['std'],
                                                  values['value_range'])
        # a file with a fixed input size decides; else a user model's card, else the parameter
        self.input_size = (spec.input_size if spec.fixed_size or (
            spec.kind != 'zoo' and 'input_size' in spec.card) else values['input_size'])
        args = (self.input_size,
                spec.resize if values['resize'] == 'model' else values['resize'],
                mean, std, spec.channel_order if values['channel_order'] == 'model'
                else values['channel_order'])
        self.resize = args[1]  # the policy in use
        self.preprocessor = Preprocessor(*args)
        self.preprocess_on = 'cpu'
        kind, device_id = parse_device(values['device'])
        if kind == 'gpu' and values['gpu_preprocess'] and values['backend'] != 'null':
            from trt_classifier import gpu_preprocess
            available, _reason = gpu_preprocess.gpu_available()
            if available:
                self.preprocessor = _OnDevice(gpu_preprocess.GpuPreprocessor(*args), device_id)
                self.preprocess_on = 'gpu:%d' % device_id
        # the table's models use ImageNet's names; a user model's card may name its own
        self.labels_path = values['labels'] or (spec.labels if spec.kind != 'zoo' else '')
        self.labels = load_labels(self.labels_path or None)
        if spec.num_classes and len(self.labels) != spec.num_classes:
            raise _classes_mismatch(config=self, classes=spec.num_classes)
        self.probabilities = spec.output_kind == 'probabilities'
        self.top_k = values['top_k']

    def __getitem__(self, name):
        return self.values[name]

    def same_backend(self, other):
        """Tell whether ``other`` needs no new backend to serve this (reload settings equal)."""
        return other is not None and all(
            self.values[n] == other.values[n] for n in schema.RELOAD_PARAMS)


def check_start_values(values):
    """Raise ClassifierError (one line) unless ``values`` can start a classifier."""
    for name, value in values.items():
        reason = schema.validate(name, value)
        if reason:
            raise ClassifierError('invalid parameter: ' + reason)
    reason = weights_problem(values)
    if reason:
        raise ClassifierError(reason)


class Result(object):
    """One classified frame: the best classes and what it took (the node makes messages of it)."""

    __slots__ = ('best', 'label', 'labels', 'preprocess_ms', 'inference_ms', 'backend',
                 'settings')

    def __init__(self, best, labels, preprocess_ms, inference_ms, backend, settings):
        self.best, self.labels = best, labels
        self.label = label_of(labels, best[0][0])
        self.preprocess_ms, self.inference_ms = preprocess_ms, inference_ms
        self.backend, self.settings = backend, settings

    @property
    def index(self):
        return self.best[0][0]

    @property
    def score(self):
        return self.best[0][1]

    def top_k(self):
        """``[[index, label, score], ...]``, best first."""
        return [[i, label_of(self.labels, i), p] for i, p in self.best]


class Classifier(object):
    """Settings in, backend loaded, swapped and released by policy, RGB frame -> :class:`Result`.

    ``values``: every parameter of the schema (schema.DEFAULTS with changes); ``log``: a logger
    with info/warning/error (the node's ROS logger, or :mod:`logging`'s).
    """

    def __init__(self, values, log):
        check_start_values(values)
        # the cache is created private now, or the start ends here (refused: one line)
        cache.usable_cache_dir(os.path.expanduser(values['cache_dir']) or None, log)
        backends.check_available(values['backend'])
        self.log = log
        self.requested = Config(values)
        self._lock = threading.Lock()
        self._served = None  # the Config the backend was loaded with
        # what frames use, replaced whole: (backend or None, per-frame Config)
        self._serving = (None, self.requested)
        self.window = Window(100)  # inference times of the served backend only
        self.state = LOADING
        self.error = ''  # why the last load failed, while that matters
        self.pending = True  # the worker should load ``requested``
        self.ever_loaded = False
        self.fatal = False  # the first load failed and exit_on_start_failure: end the node
        self.closing = False

    # --- what is served -----------------------------------------------------------------------
    @property
    def backend(self):
        return self._serving[0]

    @property
    def settings(self):
        """The Config frames use: the served backend's, with the latest per-frame settings."""
        return self._serving[1]

    def reload_wanted(self):
        """Tell whether the requested settings need another backend than the one served."""
        return not self.requested.same_backend(self._served)

    def _transition(self, event):
        """Move the state machine; a move the table does not list is a bug, said loudly."""
        try:
            self.state = TRANSITIONS[(self.state, event)]
        except KeyError:
            raise AssertionError('no transition from %s on %s' % (self.state, event)) from None

    def _update_settings(self):
        """Frames use the served backend's settings plus the latest per-frame ones (top_k, ...)."""
        served = self._served
        if served is None or not self.reload_wanted():
            self._serving = (self._serving[0], self.requested)
            return
        values = dict(self.requested.values)
        values.update((n, served[n]) for n in schema.RELOAD_PARAMS)
        try:
            settings = Config(values)
        except ClassifierError:  # e.g. a labels file that vanished: keep what is served
            settings = served
        self._serving = (self._serving[0], settings)

    # --- the parameter callback's side ---------------------------------------------------------
    def update(self, changes):
        """Apply runtime changes ``{name: value}``; raise ClassifierError (one line) to refuse.

        Per-frame settings apply to the next frame, also while a reload is pending; a change of
        a reload setting makes :attr:`pending` true (the worker loads it); naming a reload
        setting after a failed load retries it. One caller at a time (the parameter callback):
        the checks run outside the lock, so that a load never waits for them.
        """
        values = dict(self.requested.values)
        for name, value in changes.items():
            reason = schema.validate(name, value)
            if reason:
                raise ClassifierError(reason)
            values[name] = value
        if 'weights' in changes or 'model' in changes:
            reason = weights_problem(values)
            if reason:
                raise ClassifierError(reason)
        if values['backend'] != self.requested['backend'] and not backends.is_available(
                values['backend']):
            raise ClassifierError('backend %s is not available here' % values['backend'])
        config = Config(values)
        self._check_served_classes(config)
        with self._lock:
            changed = not config.same_backend(self.requested)
            retry = self.error and any(n in schema.RELOAD_PARAMS for n in changes)
            self.requested = config
            if self.reload_wanted():
                if changed or retry:
                    self.pending = True
            elif self.state == DEGRADED:  # asked for what is served again: nothing failed
                self._transition(REVERTED)
                self.error = ''
            self._update_settings()

    def _check_served_classes(self, config):
        """Check new labels for the served model against the classes its zero frame showed."""
        backend = self.backend
        classes = getattr(backend, 'detected_classes', None)
        if classes and config.same_backend(self._served) and len(config.labels) != classes:
            raise _classes_mismatch(config, classes)

    # --- the worker's side ----------------------------------------------------------------------
    def reload(self):
        """Load the requested settings by policy; never raises (a failure is a state)."""
        with self._lock:
            self.pending = False
            config = self.requested
            self._transition(LOAD)
        try:
            self._load(config)
        except Exception as exc:  # never let a reload kill the worker
            self._failed('reload failed: %s: %s' % (type(exc).__name__, exc), config)

    def _load(self, config):
        self.log.info('loading backend %s, model %s (%s weights) on %s' % (
            config['backend'], config['model'], config['weights'], config['device']))
        if self.backend is not None and config['reload_policy'] == 'release_first':
            with self._lock:
                old, self._served = self.backend, None
                self._serving = (None, self.requested)
            self._release(old)  # frames arriving meanwhile wait in the slot (newest kept)
        try:
            backend = self._create_backend(config)
            backend.load()
            self._check_classes(backend, config)
        except Exception as exc:  # keep serving with the old backend, say why
            error = 'requested %s/%s: %s: %s' % (
                config['backend'], config['model'], type(exc).__name__, exc)
            self.log.error('cannot load %s' % error)
            self._failed(error, config)
            return
        if self.closing:  # shut down while loading: don't leak what was just loaded
            backend.close()
            return
        old = self.backend
        with self._lock:
            self._served = config
            self._serving = (backend, self.requested)
            self._transition(LOADED)
            self.error, self.ever_loaded = '', True
            self.pending = self.pending or self.reload_wanted()  # changed while loading
            self._update_settings()
        self.window = Window(100)  # statistics of this backend only
        if old is not None:
            self._release(old)
        self.log.info('ready: %s' % json.dumps(backend.describe()))

    def _failed(self, error, config):
        with self._lock:
            self.error = error
            if self.backend is not None:
                if not self.reload_wanted():  # the request went back to what is served
                    self.error = ''
                    self._transition(REVERTED)
                else:
                    self._transition(FAILED_KEEP)
            else:
                self._transition(FAILED_EMPTY)
                # nothing to serve with at start-up: the node ends unless told to stay up
                self.fatal = not self.ever_loaded and config['exit_on_start_failure']
            self._update_settings()

    def _create_backend(self, config):
        weights = config['weights']
        if weights == 'auto':
            weights = ('pretrained' if models.pretrained_available(
                config['model'], config['cache_dir'] or None) else 'random')
        if weights == 'random' and config['backend'] != 'null' and config.spec.kind != 'onnx':
            self.log.warning('model %s runs with random weights: latencies are real, labels are '
                             'meaningless' % config['model'])
        return backends.create_backend(
            config['backend'], config['model'], weights=weights, device=config['device'],
            cache_dir=os.path.expanduser(config['cache_dir']) or None,
            precision=config['precision'], log=self.log, options={
                'use_cudnn': config['use_cudnn'], 'autotune': config['autotune'],
                'workspace_mb': config['workspace_mb'], 'input_size': config.input_size,
                'ort_tensorrt': config['ort_tensorrt'],
                'tensorrt_runtime': config['tensorrt_runtime']})

    def _check_classes(self, backend, config):
        """Check a user model's class count against the labels (one zero frame if needed)."""
        spec = config.spec
        if spec.kind != 'zoo':
            self.log.info('model %s: %s' % (config['model'], spec.output_reason))
        if spec.kind == 'zoo' or spec.num_classes or backend.name == 'null':
            return  # the table's models, checked in Config, or fixed logits (harness cost)
        import numpy
        size = config.input_size
        classes = backend.infer(numpy.zeros((1, 3, size, size), numpy.float32)).shape[-1]
        backend.detected_classes = classes
        if classes != len(config.labels):
            backend.close()
            raise _classes_mismatch(config, classes)

    def _release(self, backend):
        try:
            backend.close()
        except Exception as exc:  # a failing release must not stop serving
            self.log.warning('releasing the previous backend failed: %s' % exc)

    def classify(self, rgb, start=None):
        """Classify an (H, W, 3) uint8 RGB frame; None while no backend is served.

        ``start``: ``time.perf_counter()`` when the frame's own work began (preprocess_ms counts
        from there, e.g. with the message conversion); default now.
        """
        backend, settings = self._serving
        if backend is None:
            return None
        if start is None:
            start = time.perf_counter()
        batch = settings.preprocessor(rgb)
        preprocess_ms = (time.perf_counter() - start) * 1000.0
        logits = backend.infer(batch)
        best = top_k(logits, settings.top_k, settings.probabilities)
        inference_ms = backend.last_inference_ms
        self.window.add(inference_ms)
        return Result(best, settings.labels, preprocess_ms, inference_ms, backend, settings)

    def stop(self):
        """No more loads: one that finishes now releases what it loaded (any thread)."""
        self.closing = True

    def close(self):
        """Release the served backend (call when no reload or frame runs any more)."""
        self.stop()
        backend = self.backend
        self._serving, self._served = (None, self.requested), None
        if backend is not None:
            backend.close()
