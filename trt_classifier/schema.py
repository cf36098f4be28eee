# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""The parameters and shared constants, written once.

Read by the classifier node (declarations, ``ParameterDescriptor`` ranges, checks), the serving
core, the CLI, both launch files, config/classifier.yaml's test and the README's test. It imports
no runtime and no ROS (launch files import it): the checks that need the model table or the file
system import those in :func:`validate`, when called.
"""

from trt_classifier import backends, qos_policy
from trt_classifier.trt_utils import PRECISIONS, RUNTIME_CHOICES

# --- shared constants --------------------------------------------------------------------------
RESIZE_POLICIES = ('stretch', 'center_crop')
CHANNEL_ORDERS = ('rgb', 'bgr')
INPUT_SIZE_RANGE = (32, 1024)  # pixels, square; the node's parameter and a model card's key
WEIGHTS_CHOICES = ('auto', 'pretrained', 'random')
DEFAULT_WORKSPACE_MB = 1024  # the node's and the CLI's default: one TensorRT engine cache key
DEFAULT_MODEL = 'efficientnet_lite0'
STUDY_MODELS = 'vgg16,resnet101,squeezenet1_1,efficientnet_lite0'
ALL_BACKENDS = 'chainer,onnxruntime,tensorrt,null'


def mean_std_problem(mean, std):
    """'' if ``mean`` and ``std`` have one value per channel and every std is > 0, else why."""
    if len(mean) != 3 or len(std) != 3:
        return 'mean and std must have 3 values (one per channel), got %d and %d' % (
            len(mean), len(std))
    if min(std) <= 0:
        return 'std values must be > 0, got %s' % (list(std),)
    return ''


# --- when a parameter takes effect --------------------------------------------------------------
START_UP = 'start-up'          # read-only: the trust boundary (README, "Security")
RELOAD = 'reload'              # needs a new backend: loaded by the worker between two frames
PER_FRAME = 'per-frame'        # the next frame uses it, also while a reload is pending
SUBSCRIPTION = 'subscription'  # re-creates the image subscription
WHEN_USED = 'when used'        # read by the node or the reload policy when it acts


class Param(object):
    """One parameter: name, default (its type is the parameter's), text, when, choices, range."""

    def __init__(self, name, default, description, applies, choices=None, value_range=None):
        self.name, self.default, self.description = name, default, description
        self.applies, self.choices, self.value_range = applies, choices, value_range

    def __repr__(self):
        return 'Param(%r)' % self.name


# The trust boundary: start-up parameters are the user's own; a runtime change can come from
# anyone on the ROS graph. A parameter that can make the node run code of someone else's choosing
# (a directory TensorRT engines are loaded from) is start-up only. Each says why.
START_ONLY = {
    'cache_dir': 'it holds TensorRT engines, which are executable code',
    'allowed_model_classes': 'it names Python code that a runtime change of model may import',
}

CLASSIFIER = [
    Param('backend', 'chainer', 'inference backend: %s' % ', '.join(backends.backend_names()),
          RELOAD, choices=backends.backend_names()),
    Param('model', DEFAULT_MODEL, 'model: a name from `trt-classifier models`, a path to an ONNX '
                                  'file, or package.module:ClassName (a chainer.Link; at '
                                  'start-up only)', RELOAD),
    Param('weights', 'auto', 'auto (pretrained where available, else random), pretrained, random '
                             '(benchmarking only: labels are meaningless) or a path to a Chainer '
                             '.npz. Settable at run time: the npz is read as data, never '
                             'unpickled', RELOAD),
    Param('device', 'cpu', 'cpu, gpu or gpu:N', RELOAD),
    Param('precision', 'fp32', 'fp32 or fp16 (tensorrt only)', RELOAD, choices=PRECISIONS),
    Param('top_k', 5, 'number of classes in the result topic', PER_FRAME, value_range=(1, 1000)),
    Param('labels', '', "class-name file, one per line; empty: the model card's, else the "
                        'shipped ImageNet list. Settable at run time: only a regular UTF-8 text '
                        'file of at most 1 MiB is read', PER_FRAME),
    Param('input_size', 224, 'model input size in pixels (square)', RELOAD,
          value_range=INPUT_SIZE_RANGE),
    Param('resize', 'model', "model (the model table's or card's policy), stretch or "
                             'center_crop; a frame of the input size is taken as it is',
          PER_FRAME, choices=('model',) + RESIZE_POLICIES),
    Param('normalize', 'model', "model (the model table's or card's mean/std) or custom (use "
                                'mean, std and value_range)', PER_FRAME,
          choices=('custom', 'model')),
    Param('mean', [0.485, 0.456, 0.406],
          'per-channel mean of pixels scaled to value_range (normalize:=custom)', PER_FRAME),
    Param('std', [0.229, 0.224, 0.225],
          'per-channel std of pixels scaled to value_range (normalize:=custom)', PER_FRAME),
    Param('value_range', [0.0, 1.0], 'the range pixels are scaled to before mean/std (normalize:='
                                     'custom), e.g. [0.0, 255.0]', PER_FRAME),
    Param('channel_order', 'model', "model (the model table's or card's), rgb or bgr", PER_FRAME,
          choices=('bgr', 'model', 'rgb')),
    Param('transport', 'raw', 'raw (sensor_msgs/Image on image) or compressed '
                              '(sensor_msgs/CompressedImage, JPEG or PNG, on image/compressed)',
          SUBSCRIPTION, choices=('compressed', 'raw')),
    Param('allowed_model_classes', '', 'comma-separated package.module:ClassName models that a '
                                       'runtime change of model may name (read-only; set at '
                                       'start)', START_UP),
    Param('image_qos', 'auto', 'auto (match the publishers), sensor_data (best effort) or '
                               'reliable', SUBSCRIPTION, choices=qos_policy.IMAGE_QOS_MODES),
    Param('qos_depth', 1, 'image subscription queue depth', SUBSCRIPTION, value_range=(1, 100)),
    Param('cache_dir', '', 'weights/ONNX/engine cache; empty: ~/.cache/trt_classifier. Start-up '
                           'only (read-only): it holds TensorRT engines, which are executable '
                           'code; created private (0700), refused if others can write to it',
          START_UP),
    Param('use_cudnn', 'auto', 'chainer on GPU: always, auto or never', RELOAD,
          choices=('always', 'auto', 'never')),
    Param('autotune', False, 'chainer on GPU: cuDNN autotuning', RELOAD),
    Param('gpu_preprocess', True, 'on device:=gpu, resize and normalise on the GPU (CuPy)',
          PER_FRAME),
    Param('ort_tensorrt', False, 'onnxruntime on device:=gpu: TensorrtExecutionProvider first',
          RELOAD),
    Param('exit_on_start_failure', True, 'exit with code 2 when the first model cannot be loaded '
                                         '(false: stay up in state error, e.g. under the '
                                         'benchmark)', WHEN_USED),
    Param('reload_policy', 'keep_serving', 'keep_serving (load the new model, then release the '
                                           'old) or release_first (halves peak memory, e.g. on '
                                           'a Nano)', WHEN_USED,
          choices=('keep_serving', 'release_first')),
    Param('workspace_mb', DEFAULT_WORKSPACE_MB, 'tensorrt builder workspace in MiB', RELOAD,
          value_range=(16, 1 << 16)),
    Param('tensorrt_runtime', 'auto', 'tensorrt backend: %s (auto: classic TensorRT if '
                                      'importable, else TensorRT-RTX)' % ', '.join(
                                          RUNTIME_CHOICES), RELOAD, choices=RUNTIME_CHOICES),
    Param('silence_timeout_s', 5.0,
          'seconds (> 0) without frames (while publishers exist) before diagnosing', WHEN_USED),
]

BY_NAME = {param.name: param for param in CLASSIFIER}
DEFAULTS = {param.name: param.default for param in CLASSIFIER}


def names(applies):
    """Return the names of the parameters that take effect ``applies`` (START_UP, RELOAD...)."""
    return tuple(p.name for p in CLASSIFIER if p.applies == applies)


RELOAD_PARAMS = names(RELOAD)
SUBSCRIPTION_PARAMS = names(SUBSCRIPTION)
assert set(names(START_UP)) == set(START_ONLY), 'each start-up parameter says why'


def describe(param):
    """Return the description with the range appended, as ``ros2 param describe`` shows it."""
    if param.value_range:
        return '%s (%d..%d)' % (param.description, param.value_range[0], param.value_range[1])
    return param.description


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
    """Return '' if ``value`` is acceptable for parameter ``name``, else the reason (one line)."""
    import os
    from trt_classifier import models
    from trt_classifier.backends.base import parse_device
    from trt_classifier.errors import ClassifierError
    from trt_classifier.models import user as user_models
    wrong_type = type_error(name, value)
    if wrong_type:
        return wrong_type
    param = BY_NAME[name]
    if param.choices and value not in param.choices:
        return '%s must be one of %s, not %r' % (name, ', '.join(param.choices), value)
    if param.value_range and not param.value_range[0] <= value <= param.value_range[1]:
        return '%s must be in %d..%d, not %r' % (name, param.value_range[0],
                                                 param.value_range[1], value)
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
    if name in ('mean', 'std'):
        values = list(value)
        if len(values) != 3:
            return '%s must have 3 values (one per channel), got %d' % (name, len(values))
        if name == 'std' and min(values) <= 0:
            return 'std values must be > 0, got %s' % values
    if name == 'silence_timeout_s' and value <= 0:
        return 'silence_timeout_s must be > 0'
    return ''


# --- the benchmark -------------------------------------------------------------------------------
# The bench node's parameters: all read-only, set by whoever starts it (bench_runner.py or
# launch/bench.launch.py, both from BENCH_RUN below).
BENCH = [
    Param('backends', ALL_BACKENDS, 'comma-separated backends, one node each, in namespace '
                                    '/<backend> (null: the harness overhead)', START_UP),
    Param('models', STUDY_MODELS, 'comma-separated models: table names, ONNX file paths or '
                                  'package.module:ClassName', START_UP),
    Param('weights', 'auto', 'auto (pretrained where available, else random), random or '
                             'pretrained', START_UP),
    Param('warmup', 1, 'untimed frames per (model, backend)', START_UP),
    Param('iterations', 100, 'timed frames per (model, backend)', START_UP),
    Param('precision', 'fp32', 'fp32 or fp16 (tensorrt)', START_UP, choices=PRECISIONS),
    Param('frames', 'samples', 'samples, an image, a folder or a video', START_UP),
    Param('frame_width', 0, 'resize input frames to this width (0: keep)', START_UP),
    Param('frame_height', 0, 'resize input frames to this height (0: keep)', START_UP),
    Param('timeout_s', 30.0, "seconds to wait for one frame's result", START_UP),
    Param('load_timeout_s', 900.0, 'seconds to wait for a model to load (engine builds are '
                                   'slow)', START_UP),
    Param('startup_timeout_s', 60.0, 'seconds to wait for a classifier node to appear',
          START_UP),
    Param('unavailable', '', 'backends known to be unavailable, "name: reason; ..." (set by the '
                             'runner)', START_UP),
    Param('output_dir', 'results', 'where the JSON, CSV and PNG go', START_UP),
    Param('sequential', False, 'one classifier node alive at a time: all models of a backend, '
                               'then that node is stopped (SIGINT) and the runner/launch starts '
                               'the next', START_UP),
    # open loop (camera rate): see trt_classifier/openloop.py
    Param('rate_hz', 0.0, 'publish at this fixed rate, open loop (0: closed loop, one frame in '
                          'flight)', START_UP),
    Param('duration_s', 0.0, 'open loop: seconds per (model, backend); 0: send iterations frames',
          START_UP),
    Param('find_max_rate', False, 'search the highest rate each backend sustains with drops '
                                  'below drop_threshold', START_UP),
    Param('drop_threshold', 0.02, 'rate search: largest share of sent frames left unanswered',
          START_UP),
    Param('min_rate_hz', 1.0, 'rate search: lower bound', START_UP),
    Param('max_rate_hz', 200.0, 'rate search: upper bound (probed first)', START_UP),
    Param('search_duration_s', 3.0, 'rate search: seconds per probe', START_UP),
]
BENCH_DEFAULTS = {param.name: param.default for param in BENCH}


class RunArg(object):
    """One setting of a benchmark run: launch argument ``NAME:=``, CLI option ``--NAME``.

    ``param``: the bench node parameter it sets (its default and text unless given), if any.
    """

    def __init__(self, name, param=None, default=None, text=None, choices=None):
        node = next((p for p in BENCH if p.name == param), None)
        self.name, self.param, self.choices = name, param, choices
        self.default = node.default if default is None else default
        self.text = node.description if text is None else text


# One description of the benchmark run, for both launchers (bench.launch.py, bench_runner.py).
BENCH_RUN = [
    RunArg('backends', 'backends'),
    RunArg('models', 'models'),
    RunArg('weights', 'weights'),
    RunArg('warmup', 'warmup'),
    RunArg('iterations', 'iterations'),
    RunArg('precision', 'precision', choices=PRECISIONS),
    RunArg('device', default='cpu', text='cpu, gpu or gpu:N (the classifier nodes)'),
    RunArg('frames', 'frames'),
    RunArg('frame_width', 'frame_width'),
    RunArg('frame_height', 'frame_height'),
    RunArg('timeout_s', 'timeout_s'),
    RunArg('output_dir', 'output_dir', text='where bench.json/csv/png are written'),
    RunArg('cache_dir', default='', text='weights/ONNX/engine cache of the classifier nodes '
                                         '(empty: ~/.cache/trt_classifier)'),
    RunArg('sequential', default='auto', choices=('auto', 'true', 'false'),
           text='one classifier node alive at a time (auto: under 8 GB of memory)'),
    # open loop (camera rate)
    RunArg('rate', 'rate_hz', text='publish at this fixed rate in Hz without waiting for '
                                   'results (launch 0, CLI unset: closed loop, one frame in '
                                   'flight)'),
    RunArg('duration', 'duration_s', default=10.0,
           text='open loop: seconds per model and backend (0: send iterations frames)'),
    RunArg('find_max_rate', 'find_max_rate'),
    RunArg('drop_threshold', 'drop_threshold'),
    RunArg('min_rate', 'min_rate_hz', text='rate search: lower bound in Hz'),
    RunArg('max_rate', 'max_rate_hz', text='rate search: upper bound in Hz, probed first'),
    RunArg('search_duration', 'search_duration_s'),
]
BENCH_RUN_DEFAULTS = {arg.name: arg.default for arg in BENCH_RUN}
OPEN_LOOP_PARAMS = ('rate_hz', 'duration_s', 'find_max_rate', 'drop_threshold', 'min_rate_hz',
                    'max_rate_hz', 'search_duration_s')


def bench_node_params(run):
    """Return the bench node's parameters of a run ``{RunArg name: value}``, typed as declared."""
    params = {}
    for arg in BENCH_RUN:
        if arg.param is not None:
            kind = type(BENCH_DEFAULTS[arg.param])
            value = run[arg.name]
            if kind is bool and isinstance(value, str):
                value = value.lower() in ('true', '1')
            params[arg.param] = kind(value if value is not None else arg.default)
    return params
