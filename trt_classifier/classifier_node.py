# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""classifier_node: subscribe ``image``, classify each frame, publish label, score and latencies.

The node only wires ROS to plain classes: :class:`Preprocessor`, a backend, :class:`LatestSlot`
and :class:`Window`. Inference runs on one worker thread fed by a size-1 drop-oldest slot, so a
slow model always serves the newest frame; every frame is accounted for in /diagnostics
(done, dropped because a newer frame replaced it, rejected as malformed, failed in inference).
"""

import json
import os
import sys
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Float64, String

from trt_classifier import backends, cache, models, qos_policy, resources, rosutil
from trt_classifier.backends.base import parse_device
from trt_classifier.errors import ClassifierError
from trt_classifier.imgconv import compressed_msg_to_rgb, image_msg_to_rgb, ImageError
from trt_classifier.models import user as user_models
from trt_classifier.preprocess import (label_of, load_labels, Preprocessor, RESIZE_POLICIES,
                                       top_k)
from trt_classifier.slot import LatestSlot
from trt_classifier.stats import Window
from trt_classifier.trt_utils import RUNTIME_CHOICES

# Parameters whose change needs a new backend: applied by the worker between two frames.
RELOAD_PARAMS = ('backend', 'model', 'weights', 'device', 'precision', 'use_cudnn',
                 'autotune', 'workspace_mb', 'input_size', 'ort_tensorrt', 'tensorrt_runtime')

# The trust boundary (README, "Security"): start-up parameters are the user's own; a runtime
# change can come from anyone on the ROS graph. A parameter that can make the node run code of
# someone else's choosing (a directory TensorRT engines are loaded from) is start-up only.
START_ONLY = {
    'cache_dir': 'it holds TensorRT engines, which are executable code',
    'allowed_model_classes': 'it names Python code that a runtime change of model may import',
}

PARAMS = [
    # name, default, description
    ('backend', 'chainer', 'inference backend: %s' % ', '.join(backends.backend_names())),
    ('model', models.DEFAULT_MODEL, 'model: %s, a path to an ONNX file, or '
                                    'package.module:ClassName (a chainer.Link; at start-up '
                                    'only)' % ', '.join(sorted(models.MODELS))),
    ('weights', 'auto', 'auto (pretrained where available, else random), pretrained, random '
                        '(benchmarking only: labels are meaningless) or a path to a Chainer .npz. '
                        'Settable at run time: the npz is read as data, never unpickled'),
    ('device', 'cpu', 'cpu, gpu or gpu:N'),
    ('precision', 'fp32', 'fp32 or fp16 (tensorrt only)'),
    ('top_k', 5, 'number of classes in the result topic (1-1000)'),
    ('labels', '', "class-name file, one per line; empty: the model card's, else the shipped "
                   'ImageNet list. Settable at run time: only a regular UTF-8 text file of at '
                   'most 1 MiB is read'),
    ('input_size', 224, 'model input size in pixels (square)'),
    ('resize', 'model', "model (the model table's or card's policy), stretch or center_crop"),
    ('normalize', 'model', "model (the model table's or card's mean/std) or custom (use mean, "
                           'std and value_range)'),
    ('mean', [0.485, 0.456, 0.406],
     'per-channel mean of pixels scaled to value_range (normalize:=custom)'),
    ('std', [0.229, 0.224, 0.225],
     'per-channel std of pixels scaled to value_range (normalize:=custom)'),
    ('value_range', [0.0, 1.0], 'the range pixels are scaled to before mean/std (normalize:='
                                'custom), e.g. [0.0, 255.0]'),
    ('channel_order', 'model', "model (the model table's or card's), rgb or bgr"),
    ('transport', 'raw', 'raw (sensor_msgs/Image on image) or compressed '
                         '(sensor_msgs/CompressedImage, JPEG or PNG, on image/compressed)'),
    ('allowed_model_classes', '', 'comma-separated package.module:ClassName models that a '
                                  'runtime change of model may name (read-only; set at start)'),
    ('image_qos', 'auto', 'auto (match the publishers), sensor_data (best effort) or reliable'),
    ('qos_depth', 1, 'image subscription queue depth (1-100)'),
    ('cache_dir', '', 'weights/ONNX/engine cache; empty: ~/.cache/trt_classifier. Start-up '
                      'only (read-only): it holds TensorRT engines, which are executable code; '
                      'created private (0700), refused if others can write to it'),
    ('use_cudnn', 'auto', 'chainer on GPU: always, auto or never'),
    ('autotune', False, 'chainer on GPU: cuDNN autotuning'),
    ('gpu_preprocess', True, 'on device:=gpu, resize and normalise on the GPU (CuPy)'),
    ('ort_tensorrt', False, 'onnxruntime on device:=gpu: TensorrtExecutionProvider first'),
    ('exit_on_start_failure', True, 'exit with code 2 when the first model cannot be loaded '
                                    '(false: stay up in state error, e.g. under the benchmark)'),
    ('reload_policy', 'keep_serving', 'keep_serving (load the new model, then release the old) '
                                      'or release_first (halves peak memory, e.g. on a Nano)'),
    ('workspace_mb', 1024, 'tensorrt builder workspace in MiB'),
    ('tensorrt_runtime', 'auto', 'tensorrt backend: %s (auto: classic TensorRT if importable, '
                                 'else TensorRT-RTX)' % ', '.join(RUNTIME_CHOICES)),
    ('silence_timeout_s', 5.0,
     'seconds without frames (while publishers exist) before diagnosing'),
]


DEFAULTS = {name: default for name, default, _text in PARAMS}
WEIGHTS_CHOICES = ('auto', 'pretrained', 'random')
# Parameters whose change re-creates the image subscription.
SUBSCRIPTION_PARAMS = ('image_qos', 'qos_depth', 'transport')


def type_error(name, value):
    """Check the type as Galactic+ would (Foxy types dynamically); an int passes for a float."""
    expected = type(DEFAULTS[name])
    if expected is list:
        ok = isinstance(value, (list, tuple)) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    elif expected is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif expected is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, expected)
    if ok:
        return ''
    return '%s must be a %s (like %r), not %r' % (
        name, 'list of numbers' if expected is list else expected.__name__, DEFAULTS[name], value)


def as_list(value):
    """Arrays arrive as list or array.array; anything else is left for validate() to reject."""
    return value if isinstance(value, (str, bytes)) or value is None else list(value)


def validate(name, value):
    """Return '' if ``value`` is acceptable for parameter ``name``, else the reason."""
    wrong_type = type_error(name, value)
    if wrong_type:
        return wrong_type
    choices = {
        'backend': backends.backend_names(), 'channel_order': ['bgr', 'model', 'rgb'],
        'transport': ['compressed', 'raw'],
        'precision': ['fp16', 'fp32'], 'resize': ['model'] + list(RESIZE_POLICIES),
        'normalize': ['custom', 'model'], 'image_qos': list(qos_policy.IMAGE_QOS_MODES),
        'use_cudnn': ['always', 'auto', 'never'],
        'reload_policy': ['keep_serving', 'release_first'],
        'tensorrt_runtime': list(RUNTIME_CHOICES),
    }
    if name in choices and value not in choices[name]:
        return '%s must be one of %s, not %r' % (name, ', '.join(choices[name]), value)
    if name == 'device':
        try:
            parse_device(value)
        except ClassifierError as exc:
            return str(exc)
    if name == 'model' and value not in models.MODELS and not user_models.is_dotted(value):
        if not os.path.isfile(os.path.expanduser(value)):
            return ('model must be one of %s, a path to an ONNX file or package.module:ClassName;'
                    ' %r is none of these (no such file)' % (
                        ', '.join(sorted(models.MODELS)), value))
    if name == 'value_range' and (len(value) != 2 or value[1] <= value[0]):
        return 'value_range must be [low, high] with high > low, not %s' % (list(value),)
    if name == 'weights' and value not in WEIGHTS_CHOICES:
        if not os.path.lexists(os.path.expanduser(value)):
            return 'weights file %s does not exist (or use auto, pretrained, random)' % value
    ranges = {'top_k': (1, 1000), 'input_size': (32, 1024), 'qos_depth': (1, 100),
              'workspace_mb': (16, 1 << 16)}
    if name in ranges and not ranges[name][0] <= value <= ranges[name][1]:
        return '%s must be in %d..%d, not %r' % (name, ranges[name][0], ranges[name][1], value)
    if name in ('mean', 'std'):
        values = list(value)
        if len(values) != 3:
            return '%s must have 3 values (one per channel), got %d' % (name, len(values))
        if name == 'std' and min(values) <= 0:
            return 'std values must be > 0, got %s' % values
    if name == 'silence_timeout_s' and value <= 0:
        return 'silence_timeout_s must be > 0'
    return ''


def weights_problem(values):
    """'' if a weights path in ``values`` is a pickle-free npz within the model's size, else why.

    Only the archive's directory and member headers are read (milliseconds): a hostile file is
    refused before the worker builds or loads anything.
    """
    weights = values['weights']
    if weights in WEIGHTS_CHOICES:
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


class Config(object):
    """An immutable snapshot of the parameters that the worker uses for one frame."""

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
            raise ClassifierError(
                'labels file %s has %d class names, but model %s outputs %d classes' % (
                    self.labels_path or 'imagenet_classes.txt', len(self.labels),
                    values['model'], spec.num_classes))
        self.probabilities = spec.output_kind == 'probabilities'
        self.top_k = values['top_k']

    def __getitem__(self, name):
        return self.values[name]


class ClassifierNode(Node):

    def __init__(self, **kwargs):
        super(ClassifierNode, self).__init__('classifier', **kwargs)
        for name, default, text in PARAMS:
            self.declare_parameter(name, default, rosutil.descriptor(
                text, read_only=name in START_ONLY))
        values = self._read_params()
        # Code named by a dotted model runs when it is imported: allowed from the start-up
        # parameters (the robot's launch file) and the read-only allow-list, never from a
        # runtime change that anyone on the ROS graph can send.
        self.allowed_classes = set(filter(None, (
            n.strip() for n in values['allowed_model_classes'].split(','))))
        if user_models.is_dotted(values['model']):
            self.allowed_classes.add(values['model'])
        for name, value in values.items():
            reason = validate(name, value)
            if reason:
                raise ClassifierError('invalid parameter: ' + reason)
        reason = weights_problem(values)
        if reason:
            raise ClassifierError(reason)
        # the cache is created private now, or the node ends here (refused: one line, exit 2)
        cache.usable_cache_dir(os.path.expanduser(values['cache_dir']) or None,
                               self.get_logger())
        backends.check_available(values['backend'])
        self.config = Config(values)
        self.add_on_set_parameters_callback(self._on_set_parameters)

        self.pub_label = self.create_publisher(String, 'label', 10)
        self.pub_score = self.create_publisher(Float64, 'score', 10)
        self.pub_result = self.create_publisher(String, 'result', 10)
        self.pub_latency = {
            name: self.create_publisher(Float64, 'latency/' + name, 10)
            for name in ('inference_ms', 'preprocess_ms', 'total_ms', 'age_ms', 'decode_ms')}
        self.pub_diag = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        # latency topics with a subscriber (re-checked each second, so a frame costs no graph
        # query): nobody listening, nothing serialised
        self.latency_listened = list(self.pub_latency)
        self.wall_clock = False  # node clock == time.time() (no /clock): checked each second

        self.slot = LatestSlot()
        self.counts = {'received': 0, 'done': 0, 'rejected': 0, 'failed': 0}
        self.window = Window(100)
        self.backend = None
        self.serving_config = None  # the Config the backend was loaded with
        self.frame_config = self.config  # what frames use (see _update_frame_config)
        self.config_lock = threading.Lock()
        self.ever_loaded = False
        self.backend_error = ''
        self.state = 'loading'
        self.pending_reload = True
        self.last_frame_time = None
        self.silence_reported = False
        self.silence_text = ''
        self.closing = False
        self.finished = False
        self.exit_code = 0
        self.subscription = None
        self.sub_type = None
        self.sub_reliability = None
        self.qos_reason = ''
        self._update_subscription()

        self.worker = threading.Thread(target=self._work, name='inference', daemon=True)
        self.worker.start()
        self.create_timer(1.0, self._on_timer)

    # --- parameters -----------------------------------------------------------------------
    def _read_params(self):
        values = {}
        for name, default, _text in PARAMS:
            value = self.get_parameter(name).value
            values[name] = as_list(value) if isinstance(default, list) else value
        return values

    def _on_set_parameters(self, params):
        values = dict(self.config.values)
        for param in params:
            if param.name not in values:
                continue
            value = as_list(param.value) if isinstance(values[param.name], list) else param.value
            if param.name in START_ONLY and value != values[param.name]:
                # rclpy refuses read-only parameters before this callback; this is the backstop
                return self._refuse('%s can only be set at start-up: %s' % (
                    param.name, START_ONLY[param.name]))
            if (param.name == 'model' and user_models.is_dotted(value) and
                    value not in self.allowed_classes):
                return self._refuse(
                    'model %s names Python code: a Chainer class can be chosen only at start-up '
                    'or from allowed_model_classes, not by a runtime parameter change' % value)
            reason = validate(param.name, value)
            if reason:
                return self._refuse(reason)
            values[param.name] = value
        if any(p.name in ('weights', 'model') for p in params):
            reason = weights_problem(values)
            if reason:
                return self._refuse(reason)
        if values['backend'] != self.config['backend'] and not backends.is_available(
                values['backend']):
            return self._refuse('backend %s is not available here' % values['backend'])
        try:
            config = Config(values)
            self._check_served_classes(config)
        except ClassifierError as exc:
            return self._refuse(str(exc))
        qos_changed = any(values[n] != self.config[n] for n in SUBSCRIPTION_PARAMS)
        changed = any(values[n] != self.config[n] for n in RELOAD_PARAMS)
        retry = self.backend_error and any(p.name in RELOAD_PARAMS for p in params)
        self.config = config
        if self._needs_reload() and (changed or retry):
            self.pending_reload = True
        self._update_frame_config()
        if qos_changed:
            self._update_subscription(force=True)
        return SetParametersResult(successful=True)

    def _refuse(self, reason):
        """Refuse a runtime parameter change with one log line; the node keeps its settings."""
        self.get_logger().warning('refused parameter change: %s' % reason)
        return SetParametersResult(successful=False, reason=reason)

    # --- subscription and QoS ---------------------------------------------------------------
    def _image_topic(self):
        if self.config['transport'] == 'compressed':  # image_transport's name for it
            return rosutil.resolve_topic(self, 'image').rstrip('/') + '/compressed'
        # the subscription knows its remapped name on every distro (resolve_topic_name: Galactic+)
        if self.subscription is not None and hasattr(self.subscription, 'topic_name') and \
                self.sub_type is Image:
            return self.subscription.topic_name
        return rosutil.resolve_topic(self, 'image')

    def _image_publishers(self):
        topic = self._image_topic()
        return [(info.node_name, rosutil.reliability_name(info.qos_profile))
                for info in self.get_publishers_info_by_topic(topic)]

    def _update_subscription(self, force=False, publishers=None):
        if publishers is None:
            publishers = self._image_publishers()
        reliability, reason = qos_policy.choose_reliability(
            self.config['image_qos'], [r for _n, r in publishers])
        if not force and (reliability == self.sub_reliability or (
                not publishers and self.subscription is not None)):
            return  # unchanged, or publishers left: keep what matched them
        if self.subscription is not None:
            self.destroy_subscription(self.subscription)
        qos = rosutil.make_qos(reliability, self.config['qos_depth'])
        compressed = self.config['transport'] == 'compressed'
        self.sub_type = CompressedImage if compressed else Image
        self.subscription = self.create_subscription(
            self.sub_type, self._image_topic() if compressed else 'image', self._on_image, qos)
        self.sub_reliability = reliability
        self.qos_reason = reason
        self.subscribed_at = time.monotonic()
        self.silence_reported = False
        self.get_logger().info('subscribing %s %s, depth %d: %s' % (
            self._image_topic(), reliability.replace('_', ' '),
            self.config['qos_depth'], reason))

    def _on_image(self, msg):
        received, cpu = time.perf_counter(), resources.thread_cpu_s()
        self.counts['received'] += 1
        self.last_frame_time = time.monotonic()
        self.slot.put((msg, received, resources.thread_cpu_s() - cpu))

    # --- worker -------------------------------------------------------------------------------
    def _update_frame_config(self):
        """Frames use the served backend's settings plus the latest per-frame ones (top_k, ...)."""
        # Called from the parameter callback and from the worker: one at a time.
        with self.config_lock:
            serving = self.serving_config
            if serving is None or not self._needs_reload():
                self.frame_config = self.config
                return
            values = dict(self.config.values)
            values.update((n, serving[n]) for n in RELOAD_PARAMS)
            try:
                self.frame_config = Config(values)
            except ClassifierError:  # e.g. a labels file that vanished: keep what is served
                self.frame_config = serving

    def _needs_reload(self):
        """Tell whether the requested configuration differs from the one being served."""
        serving = self.serving_config
        return serving is None or any(
            self.config[n] != serving[n] for n in RELOAD_PARAMS)

    def _work(self):
        while not self.closing:
            if self.pending_reload:
                self._reload()
            item = self.slot.get(timeout=0.2)
            if item is None:
                continue
            if self.pending_reload:
                self._reload()
            try:
                self._process(*item)
            except Exception as exc:  # the worker must survive anything a frame causes
                if self.closing or not self.context.ok():
                    return  # stopping: the publishers may already be gone, that is no failure
                self.counts['failed'] += 1
                self.get_logger().error('frame failed: %s: %s' % (type(exc).__name__, exc),
                                        throttle_duration_sec=5.0)

    def _reload(self):
        try:
            self._reload_once()
        except Exception as exc:  # never let a reload kill the worker
            self.backend_error = 'reload failed: %s: %s' % (type(exc).__name__, exc)
            self.state = 'degraded' if self.backend is not None else 'error'
            self.get_logger().error(self.backend_error)
        if self._needs_reload() and not self.backend_error:
            self.pending_reload = True  # the request changed while we were loading
        self._update_frame_config()

    def _reload_once(self):
        """Load the requested backend; swap (config, backend) together so no frame mixes them."""
        self.pending_reload = False
        config = self.config
        self.state = 'loading'
        self.get_logger().info('loading backend %s, model %s (%s weights) on %s' % (
            config['backend'], config['model'], config['weights'], config['device']))
        if self.backend is not None and config['reload_policy'] == 'release_first':
            old, self.backend, self.serving_config = self.backend, None, None
            self._release(old)  # frames arriving meanwhile wait in the slot (newest kept)
        try:
            backend = self._create_backend(config)
            backend.load()
            self._check_classes(backend, config)
        except Exception as exc:  # keep serving with the old backend, say why
            self.backend_error = 'requested %s/%s: %s: %s' % (
                config['backend'], config['model'], type(exc).__name__, exc)
            self.get_logger().error('cannot load %s' % self.backend_error)
            if self.backend is not None:
                if not self._needs_reload():  # the request went back to what is served
                    self.backend_error, self.state = '', 'ready'
                else:
                    self.state = 'degraded'
            elif self.ever_loaded or not config['exit_on_start_failure']:
                self.state = 'error'  # keep running and say so (frames count as failed)
            else:  # nothing to serve with at start-up: end the node
                self.state, self.finished, self.exit_code = 'error', True, 2
            return
        if self.closing:  # shut down while loading: don't leak what was just loaded
            backend.close()
            return
        old = self.backend
        with self.config_lock:
            self.serving_config, self.backend = config, backend
        self.backend_error, self.state, self.ever_loaded = '', 'ready', True
        self.window = Window(100)  # statistics of this backend only
        if old is not None:
            self._release(old)
        self.get_logger().info('ready: %s' % json.dumps(backend.describe()))

    def _check_served_classes(self, config):
        """Check new labels for the served model against the classes its zero frame showed."""
        serving, backend = self.serving_config, self.backend
        classes = getattr(backend, 'detected_classes', None)
        if classes and serving is not None and all(
                config[n] == serving[n] for n in RELOAD_PARAMS) and len(config.labels) != classes:
            raise ClassifierError('labels file %s has %d class names, but model %s outputs %d '
                                  'classes' % (config.labels_path or 'imagenet_classes.txt',
                                               len(config.labels), config['model'], classes))

    def _check_classes(self, backend, config):
        """Check a user model's class count against the labels (one zero frame if needed)."""
        spec = config.spec
        if spec.kind != 'zoo':
            self.get_logger().info('model %s: %s' % (config['model'], spec.output_reason))
        if spec.kind == 'zoo' or spec.num_classes or backend.name == 'null':
            return  # the table's models, checked in Config, or fixed logits (harness cost)
        import numpy
        size = config.input_size
        classes = backend.infer(numpy.zeros((1, 3, size, size), numpy.float32)).shape[-1]
        backend.detected_classes = classes
        if classes != len(config.labels):
            backend.close()
            raise ClassifierError('labels file %s has %d class names, but model %s outputs %d '
                                  'classes' % (config.labels_path or 'imagenet_classes.txt',
                                               len(config.labels), config['model'], classes))

    def _release(self, backend):
        try:
            backend.close()
        except Exception as exc:  # a failing release must not stop serving
            self.get_logger().warning('releasing the previous backend failed: %s' % exc)

    def _create_backend(self, config):
        weights = config['weights']
        if weights == 'auto':
            weights = ('pretrained' if models.pretrained_available(
                config['model'], config['cache_dir'] or None) else 'random')
        if weights == 'random' and config['backend'] != 'null' and config.spec.kind != 'onnx':
            self.get_logger().warning(
                'model %s runs with random weights: latencies are real, labels are '
                'meaningless' % config['model'])
        return backends.create_backend(
            config['backend'], config['model'], weights=weights, device=config['device'],
            cache_dir=os.path.expanduser(config['cache_dir']) or None,
            precision=config['precision'], log=self.get_logger(), options={
                'use_cudnn': config['use_cudnn'], 'autotune': config['autotune'],
                'workspace_mb': config['workspace_mb'], 'input_size': config.input_size,
                'ort_tensorrt': config['ort_tensorrt'],
                'tensorrt_runtime': config['tensorrt_runtime']})

    def _process(self, msg, received, callback_cpu):
        """Classify one frame and publish; ``callback_cpu``: CPU seconds of its callback."""
        cpu_start = resources.thread_cpu_s()
        backend, config = self.backend, self.frame_config
        if backend is None:
            self.counts['failed'] += 1
            return
        start = time.perf_counter()
        decode_ms = None
        try:
            if isinstance(msg, CompressedImage):  # decoding is timed on its own
                rgb = compressed_msg_to_rgb(msg)
                decode_ms = (time.perf_counter() - start) * 1000.0
                start = time.perf_counter()
                size, encoding = rgb.shape[:2], msg.format
            else:
                rgb = image_msg_to_rgb(msg)
                size, encoding = (msg.height, msg.width), msg.encoding
        except ImageError as exc:
            self.counts['rejected'] += 1
            self.get_logger().warning(str(exc), throttle_duration_sec=5.0)
            return
        batch = config.preprocessor(rgb)
        preprocess_ms = (time.perf_counter() - start) * 1000.0
        logits = backend.infer(batch)
        best = top_k(logits, config.top_k, config.probabilities)
        inference_ms = backend.last_inference_ms
        self.window.add(inference_ms)
        stamp_ns = msg.header.stamp.sec * 10 ** 9 + msg.header.stamp.nanosec
        now_ns = int(time.time() * 1e9) if self.wall_clock else self.get_clock().now().nanoseconds
        age_ms = (now_ns - stamp_ns) / 1e6 if stamp_ns else float('nan')
        label = label_of(config.labels, best[0][0])
        self.pub_label.publish(String(data=label))
        self.pub_score.publish(Float64(data=best[0][1]))
        total_ms = (time.perf_counter() - received) * 1000.0
        values = {'inference_ms': inference_ms, 'preprocess_ms': preprocess_ms,
                  'total_ms': total_ms, 'age_ms': age_ms, 'decode_ms': decode_ms}
        for name in self.latency_listened:
            if values[name] is not None:  # decode_ms: compressed frames only
                self.pub_latency[name].publish(Float64(data=float(values[name])))
        result = {
            'frame_id': msg.header.frame_id, 'stamp_ns': stamp_ns,
            'width': int(size[1]), 'height': int(size[0]), 'encoding': encoding,
            'decode_ms': decode_ms, 'output_kind': config.spec.output_kind,
            'label': label, 'index': best[0][0], 'score': best[0][1],
            'top_k': [[i, label_of(config.labels, i), p] for i, p in best],
            'backend': backend.name, 'model': backend.model_name, 'device': backend.device,
            'precision': backend.precision, 'weights': backend.weights,
            'inference_ms': inference_ms, 'preprocess_ms': preprocess_ms,
            'total_ms': total_ms, 'age_ms': age_ms if stamp_ns else None,
            'counts': self._counts_with_this_frame(), 'pid': os.getpid()}
        # the node's own work on this frame, up to this last publish (rclpy's deserialisation
        # before the callback is not in it): wall time and CPU time of the two threads
        result['node_ms'] = (time.perf_counter() - received) * 1000.0
        result['node_cpu_ms'] = (resources.thread_cpu_s() - cpu_start + callback_cpu) * 1000.0
        self.pub_result.publish(String(data=json.dumps(result)))
        self.counts['done'] += 1

    def _counts_with_this_frame(self):
        """Cumulative frame counters, this frame counted as done.

        A client that sends nothing else between two of its frames subtracts the counts of the
        two results to get what happened to the frames in between (the open-loop benchmark).
        """
        return {'received': self.counts['received'], 'done': self.counts['done'] + 1,
                'dropped': self.slot.dropped, 'rejected': self.counts['rejected'],
                'failed': self.counts['failed']}

    # --- timer: diagnostics, QoS re-evaluation, silence diagnosis ---------------------------
    def _on_timer(self):
        self.latency_listened = [name for name, pub in self.pub_latency.items()
                                 if pub.get_subscription_count()]
        self.wall_clock = not getattr(self.get_clock(), 'ros_time_is_active', True)
        publishers = self._image_publishers()  # one graph query a second serves both checks
        if self.config['image_qos'] == 'auto':
            self._update_subscription(publishers=publishers)
        self._check_silence(publishers)
        self._publish_diagnostics()

    def _check_silence(self, publishers):
        since = max(self.last_frame_time or 0.0, self.subscribed_at)
        silent_for = time.monotonic() - since
        if not publishers or silent_for < self.config['silence_timeout_s']:
            if self.last_frame_time and self.last_frame_time > self.subscribed_at:
                self.silence_reported = False
            return
        if not self.silence_reported:
            self.silence_reported = True
            self.silence_text = qos_policy.silence_report(
                self.sub_reliability, publishers, silent_for)
            self.get_logger().warning(self.silence_text)

    def _publish_diagnostics(self):
        summary = self.window.summary()
        backend = self.backend
        served = self.frame_config  # what frames actually get
        values = [
            ('state', self.state), ('backend', served['backend']),
            ('model', served['model']), ('device', served['device']),
            ('precision', served['precision']), ('weights', served['weights']),
            ('preprocess_on', served.preprocess_on),
            ('image_qos', '%s (%s)' % (self.sub_reliability, self.qos_reason)),
            ('frames_received', self.counts['received']), ('frames_done', self.counts['done']),
            ('frames_dropped', self.slot.dropped), ('frames_rejected', self.counts['rejected']),
            ('frames_failed', self.counts['failed']),
            ('pid', os.getpid()), ('rss_mb', '%.1f' % resources.resident_mb()),
            ('peak_rss_mb', '%.1f' % resources.process_peak_mb()),
            ('inference_mean_ms', '%.3f' % summary['mean_ms']),
            ('inference_p99_ms', '%.3f' % summary['p99_ms']),
        ]
        if backend is not None:
            values.append(('loaded', json.dumps(backend.describe())))
        if self._needs_reload():
            values.append(('requested', '%s/%s on %s (%s weights)' % (
                self.config['backend'], self.config['model'], self.config['device'],
                self.config['weights'])))
        if self.backend_error:
            values.append(('load_error', self.backend_error))
        level, message = DiagnosticStatus.OK, 'ok'
        if not self.worker.is_alive() and not self.closing:
            level, message = DiagnosticStatus.ERROR, 'the inference thread has stopped'
        elif self.state == 'error':
            level, message = DiagnosticStatus.ERROR, self.backend_error
        elif self.state == 'degraded':
            level, message = DiagnosticStatus.WARN, '%s; still serving %s/%s' % (
                self.backend_error, backend.name, backend.model_name)
        elif self.state == 'loading':
            level, message = DiagnosticStatus.OK, 'loading model'
        elif self.silence_reported:
            level, message = DiagnosticStatus.WARN, self.silence_text
        elif self.counts['rejected'] or self.counts['failed']:
            level, message = DiagnosticStatus.WARN, 'some frames rejected or failed'
        status = DiagnosticStatus(
            level=level, name='%s: classifier' % rosutil.full_name(self),
            message=message, hardware_id=served['device'],
            values=[KeyValue(key=k, value=str(v)) for k, v in values])
        array_msg = DiagnosticArray(status=[status])
        array_msg.header.stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(array_msg)

    def stop_threads(self):
        """Let the worker finish its frame and stop (also the context's on_shutdown callback)."""
        self.closing = True
        self.slot.close()
        if self.worker is not threading.current_thread():
            self.worker.join(timeout=5.0)

    def close(self):
        self.stop_threads()
        if self.worker.is_alive():  # still inside a load or an inference: don't pull the rug
            self.get_logger().warning('inference thread still busy; exiting without releasing '
                                      'the backend (the OS frees it)')
        elif self.backend is not None:
            self.backend.close()
            self.backend = None


def main(args=None):
    return rosutil.run(ClassifierNode, args=args, logger_name='classifier')


if __name__ == '__main__':
    sys.exit(main())
