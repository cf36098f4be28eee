# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Your own model: an ONNX file, or a Chainer class named ``package.module:ClassName``.

Both resolve to a :class:`UserModelSpec` with the same facts as the model table (input size,
resize policy, mean/std, channel order), taken from a small model card beside the file
(``model.onnx`` -> ``model.yaml``; for a Chainer class, beside its weights ``.npz``), else the
package defaults. Importing a class named by a string runs that module's code: the node accepts
it only at start-up (or from its ``allowed_model_classes`` list), never from a runtime parameter
change that anyone on the ROS graph can send.
"""

import importlib
import os
import re

from trt_classifier.errors import ClassifierError
from trt_classifier.schema import CHANNEL_ORDERS, INPUT_SIZE_RANGE, RESIZE_POLICIES

DOTTED_RE = re.compile(r'^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$', re.ASCII)
CARD_MAX_BYTES = 64 * 1024
CARD_KEYS = ('input_size', 'resize', 'mean', 'std', 'channel_order', 'value_range', 'layout',
             'output', 'output_kind', 'labels', 'classes')
_CACHE = {}  # (spec string, file stat) -> UserModelSpec: parsing a large ONNX file is slow


def is_dotted(text):
    """Tell whether ``text`` is ``package.module:ClassName`` (what names a Chainer class)."""
    return bool(DOTTED_RE.match(str(text)))


def is_model_file(text):
    text = str(text)
    return text.endswith('.onnx') or os.sep in text or os.path.isfile(os.path.expanduser(text))


def card_path_for(path):
    return os.path.splitext(path)[0] + '.yaml'


def read_card(path):
    """Return the model card beside ``path`` as a validated dict ({} if there is none)."""
    card = card_path_for(path)
    if not os.path.exists(card):
        return {}
    import yaml
    from trt_classifier.safe_files import read_small_text_file
    text = read_small_text_file(card, 'model card', CARD_MAX_BYTES)  # regular, small, UTF-8
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ClassifierError('cannot read model card %s: %s' % (card, exc)) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ClassifierError('model card %s must be a mapping of %s' % (
            card, ', '.join(CARD_KEYS)))
    unknown = sorted(set(data) - set(CARD_KEYS))
    if unknown:
        raise ClassifierError('model card %s: unknown keys %s (known: %s)' % (
            card, ', '.join(map(str, unknown)), ', '.join(CARD_KEYS)))
    return _check_card(card, data)


def _check_card(card, data):
    def fail(text):
        raise ClassifierError('model card %s: %s' % (card, text))
    low, high = INPUT_SIZE_RANGE
    if 'input_size' in data and not (isinstance(data['input_size'], int) and
                                     low <= data['input_size'] <= high):
        fail('input_size must be an integer in %d..%d, not %r' % (low, high, data['input_size']))
    choices = {'resize': RESIZE_POLICIES, 'channel_order': CHANNEL_ORDERS,
               'layout': ('NCHW', 'NHWC'), 'output_kind': ('logits', 'probabilities')}
    for key, allowed in choices.items():
        if key in data and data[key] not in allowed:
            fail('%s must be one of %s, not %r' % (key, ', '.join(allowed), data[key]))
    for key in ('mean', 'std', 'value_range'):
        if key not in data:
            continue
        value = data[key]
        count = 2 if key == 'value_range' else 3
        if not (isinstance(value, list) and len(value) == count and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
            fail('%s must be a list of %d numbers, not %r' % (key, count, value))
    if 'std' in data and min(data['std']) <= 0:
        fail('std values must be > 0')
    if 'value_range' in data and data['value_range'][1] <= data['value_range'][0]:
        fail('value_range must be [low, high] with high > low')
    if 'labels' in data:
        if not isinstance(data['labels'], str):
            fail('labels must be a file name')
        data = dict(data, labels=os.path.join(os.path.dirname(card), data['labels']))
    if 'classes' in data and not (isinstance(data['classes'], int) and data['classes'] > 0):
        fail('classes must be a positive integer')
    return dict(data, card=card)


def to_unit_range(mean, std, value_range):
    """mean/std given for pixels in ``value_range`` -> the same for pixels scaled to 0..1.

    With p in 0..1 and v = low + (high - low) * p, (v - m) / s == (p - m') / s' where
    m' = (m - low) / (high - low) and s' = s / (high - low).
    """
    low, high = float(value_range[0]), float(value_range[1])
    span = high - low
    return (tuple((float(m) - low) / span for m in mean), tuple(float(s) / span for s in std))


def _preprocessing(card):
    """(input_size, resize, mean, std, channel_order) from a card, else the package defaults."""
    from trt_classifier.models import IMAGENET_MEAN, IMAGENET_STD
    value_range = card.get('value_range', [0, 1])
    if 'mean' in card or 'std' in card or 'value_range' in card:
        # value_range alone: the network takes pixels in that range as they are
        mean, std = to_unit_range(card.get('mean', [0.0] * 3), card.get('std', [1.0] * 3),
                                  value_range)
    else:
        mean, std = IMAGENET_MEAN, IMAGENET_STD
    return (card.get('input_size', 224), card.get('resize', 'center_crop'), mean, std,
            card.get('channel_order', 'rgb'))


def _spec_class():
    from trt_classifier.models import ModelSpec

    class UserModelSpec(ModelSpec):
        """A ModelSpec for a user's ONNX file or Chainer class (kind 'onnx' or 'chainer')."""

        def build(self):
            if self.kind != 'chainer':
                raise ClassifierError(
                    'model %s is an ONNX file: Chainer cannot run ONNX files (it has no ONNX '
                    'importer); use backend:=onnxruntime or backend:=tensorrt' % self.name)
            import numpy
            from trt_classifier.models import RANDOM_SEED
            state = numpy.random.get_state()
            numpy.random.seed(RANDOM_SEED)
            try:
                return self.link_class()
            except Exception as exc:
                raise ClassifierError('cannot construct %s(): %s: %s (the class must build '
                                      'with no arguments)' % (self.name, type(exc).__name__,
                                                              exc)) from exc
            finally:
                numpy.random.set_state(state)

        def pretrained_fn(self):
            return None

    return UserModelSpec


def resolve(spec):
    """Return the UserModelSpec for an ONNX path or a dotted class name, or raise one line."""
    text = str(spec).strip()
    if is_dotted(text):
        return _resolve_class(text)
    path = os.path.abspath(os.path.expanduser(text))
    try:
        stat = os.stat(path)
    except OSError as exc:
        raise ClassifierError('model file %s: %s' % (path, exc.strerror or exc)) from exc
    key = (path, stat.st_size, stat.st_mtime_ns)
    card_key = card_path_for(path)
    try:
        key += (os.stat(card_key).st_mtime_ns,)
    except OSError:
        pass
    if key not in _CACHE:
        _CACHE.clear()  # one entry per process is what a node needs; keep memory flat
        _CACHE[key] = _resolve_onnx(path)
    return _CACHE[key]


def _resolve_onnx(path):
    from trt_classifier import onnx_info
    from trt_classifier.cache import file_sha256
    card = read_card(path)
    info = onnx_info.inspect(path, card.get('layout', ''), card.get('output', ''))
    size, resize, mean, std, order = _preprocessing(card)
    fixed = info['input']['size']
    if fixed and 'input_size' in card and card['input_size'] != fixed:
        raise ClassifierError('model card %s says input_size %d, but %s takes %dx%d images' % (
            card['card'], card['input_size'], path, fixed, fixed))
    kind = card.get('output_kind', info['output_kind'])
    reason = ('the model card says output_kind: %s' % kind if 'output_kind' in card
              else info['output_reason'])
    classes = info['output']['classes']
    if classes and card.get('classes', classes) != classes:
        raise ClassifierError('model card %s says %d classes, but output %r of %s has %d' % (
            card['card'], card['classes'], info['output']['name'], path, classes))
    spec = _spec_class()(
        path, '', '', 0, input_size=fixed or size, resize=resize, mean=mean, std=std,
        channel_order=order, labels=card.get('labels', ''),
        weights_source='the ONNX file itself', description='ONNX file %s' % path)
    spec.kind, spec.path, spec.sha256 = 'onnx', path, file_sha256(path)
    spec.file_stem = os.path.splitext(os.path.basename(path))[0]
    spec.input_name, spec.output_name = info['input']['name'], info['output']['name']
    spec.layout, spec.input_dtype = info['input']['layout'], info['input']['dtype']
    spec.fixed_size = bool(fixed)
    spec.num_classes = card.get('classes', classes)
    spec.output_kind, spec.output_reason = kind, reason
    spec.card, spec.info = card, info
    return spec


def _resolve_class(text):
    """Import ``package.module:ClassName`` and check it is a chainer.Link subclass."""
    module_name, class_name = text.split(':')
    from trt_classifier.compat import import_chainer
    chainer = import_chainer()
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError or whatever the module raises while importing
        raise ClassifierError('model %s: cannot import module %s (%s: %s); the model must be '
                              'an importable package.module:ClassName' % (
                                  text, module_name, type(exc).__name__, exc)) from exc
    link_class = getattr(module, class_name, None)
    if link_class is None:
        raise ClassifierError('model %s: module %s has no attribute %s' % (
            text, module_name, class_name))
    if not (isinstance(link_class, type) and issubclass(link_class, chainer.Link)):
        raise ClassifierError('model %s is not a chainer.Link subclass (it is %r); the model '
                              'must be a Chain taking (1, 3, H, W) and returning logits' % (
                                  text, link_class))
    source = getattr(module, '__file__', None) or ''
    spec = _spec_class()(
        text, module_name, class_name, 0, labels='',
        weights_source='weights:=PATH to a Chainer .npz',
        description='Chainer class %s (%s)' % (text, source))
    spec.kind, spec.link_class, spec.path = 'chainer', link_class, source
    spec.file_stem = re.sub(r'[^A-Za-z0-9_.]+', '-', text)
    spec.input_name, spec.output_name, spec.layout, spec.input_dtype = (
        'input', 'logits', 'NCHW', 'float32')
    spec.fixed_size, spec.num_classes = False, None
    spec.output_kind, spec.output_reason = 'logits', 'a Chainer model returns logits'
    spec.card, spec.info = {}, None
    from trt_classifier.cache import file_sha256
    spec.sha256 = file_sha256(source) if os.path.isfile(source) else ''
    return spec


def apply_card(spec, weights):
    """For a Chainer class: the card beside its weights file sets the preprocessing."""
    if spec.kind != 'chainer' or weights in ('auto', 'random', 'pretrained', ''):
        return spec
    card = read_card(os.path.expanduser(weights))
    if not card:
        return spec
    import copy
    spec = copy.copy(spec)
    (spec.input_size, spec.resize, spec.mean, spec.std,
     spec.channel_order) = _preprocessing(card)
    spec.labels = card.get('labels', '')
    spec.num_classes = card.get('classes')
    spec.card = card
    return spec


def describe(spec):
    """Summarise ``spec`` as JSON-friendly facts (``trt-classifier models PATH``)."""
    out = {'model': spec.name, 'kind': spec.kind, 'file': spec.path, 'sha256': spec.sha256,
           'input': {'name': spec.input_name, 'layout': spec.layout, 'dtype': spec.input_dtype,
                     'size': spec.input_size},
           'output': {'name': spec.output_name, 'classes': spec.num_classes,
                      'kind': spec.output_kind, 'why': spec.output_reason},
           'preprocessing': {'resize': spec.resize, 'mean': list(spec.mean),
                             'std': list(spec.std), 'channel_order': spec.channel_order},
           'card': spec.card.get('card', '') if spec.card else ''}
    if spec.info:
        out['input']['shape'] = spec.info['input']['shape']
        out['output']['shape'] = spec.info['output']['shape']
        out['opset'] = spec.info['opset']
        out['producer'] = spec.info['producer']
        out['initializers_listed_as_inputs'] = len(spec.info['skipped_inputs'])
    return out
