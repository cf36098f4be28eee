# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""What a classifier ONNX file says about itself: image input, class output, opset, layout.

Files come from many exporters (PyTorch, tf2onnx, onnx_chainer, ...). What they do that matters
here: weights also listed as graph inputs (an input with an initializer is not fed), a dynamic
batch (``N``, ``batch_size`` or ``-1``: fed as 1), NHWC (TensorFlow) or NCHW layout, names with
slashes (``serving_default/input_1:0``), a Softmax before the output (then the output is already
a probability), an output of shape (1, N) or (1, N, 1, 1), and opsets from 9 on. Anything the
node cannot feed or read is refused with one line naming the tensor at fault.
"""

import os

from trt_classifier.errors import ClassifierError

MIN_OPSET = 9
MAX_BYTES = 2 ** 31 - 1  # protobuf's limit; larger models keep their weights as external data
# ONNX TensorProto element types the node can feed (the batch is float32, cast if needed).
FEEDABLE = {1: 'float32', 10: 'float16', 11: 'float64'}
# Nodes that change shape but not values: a Softmax behind them still makes probabilities.
_PASS_THROUGH = ('Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Identity', 'Transpose', 'Cast',
                 'Dropout')


def _dims(value_info):
    """Shape of a graph input/output as a list: ints, -1 for dynamic, or None if unknown."""
    kind = value_info.type.WhichOneof('value')
    if kind != 'tensor_type' or not value_info.type.tensor_type.HasField('shape'):
        return None
    return [int(d.dim_value) if d.HasField('dim_value') else -1
            for d in value_info.type.tensor_type.shape.dim]


def _elem_type(value_info):
    return int(value_info.type.tensor_type.elem_type)


def _type_name(elem_type):
    import onnx
    try:
        return onnx.TensorProto.DataType.Name(elem_type).lower()
    except ValueError:
        return 'type %d' % elem_type


def _layout(dims):
    """'NCHW', 'NHWC' or '' for a rank-4 shape whose channel axis holds 3 colours."""
    if dims is None or len(dims) != 4:
        return ''
    if dims[1] == 3 and dims[3] != 3:
        return 'NCHW'
    if dims[3] == 3 and dims[1] != 3:
        return 'NHWC'
    if dims[1] == 3:  # (N, 3, H, 3): only a 3-pixel-wide image would be NHWC
        return 'NCHW'
    return ''


def _load(path):
    """Parse ``path`` (a regular file of at most 2 GB, opened without blocking) as ONNX."""
    import onnx
    from google.protobuf.message import DecodeError
    from trt_classifier.safe_files import open_regular_file
    with open_regular_file(path, 'model file', MAX_BYTES) as f:
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ClassifierError("model file %s is over protobuf's 2 GB limit (save it with "
                              'external data)' % path)
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError, OSError) as exc:
        raise ClassifierError('model file %s is not an ONNX model (%s: %s)' % (
            path, type(exc).__name__, str(exc).strip() or 'cannot parse')) from exc
    # protobuf parses many non-ONNX byte strings without complaint: require a real graph.
    if model.ir_version < 1 or not model.graph.node or not model.graph.output:
        raise ClassifierError('model file %s is not an ONNX model (no graph nodes/outputs after '
                              'parsing it as ONNX protobuf)' % path)
    return model


def _opset(model):
    for entry in model.opset_import:
        if entry.domain in ('', 'ai.onnx'):
            return int(entry.version)
    return 0


def _softmax_before(graph, name):
    """Return the op type that makes tensor ``name``, through shape-only ops ('' if none)."""
    producers = {out: node for node in graph.node for out in node.output}
    node = producers.get(name)
    while node is not None and node.op_type in _PASS_THROUGH and node.input:
        node = producers.get(node.input[0])
    return node.op_type if node is not None else ''


def inspect(path, layout_hint='', output_hint=''):
    """Describe ``path``; raise ClassifierError with one line if the node cannot serve it.

    Returns a dict: ``path``, ``opset``, ``producer``, ``input`` (name, shape, layout, dtype,
    dynamic batch), ``skipped_inputs`` (inputs that have initializers), ``output`` (name, shape,
    classes or None when dynamic), ``output_kind`` ('probabilities' if the graph ends in Softmax,
    else 'logits') and ``output_reason``. ``layout_hint`` (a model card's ``layout``) decides when
    the shape cannot; ``output_hint`` (a card's ``output``) names one of several outputs.
    """
    model = _load(path)
    graph = model.graph
    opset = _opset(model)
    if opset and opset < MIN_OPSET:
        raise ClassifierError('model file %s uses opset %d; this package reads opset %d or newer '
                              '(re-export it with a newer opset)' % (path, opset, MIN_OPSET))
    initialized = {init.name for init in graph.initializer}
    feeds = [vi for vi in graph.input if vi.name not in initialized]
    skipped = [vi.name for vi in graph.input if vi.name in initialized]
    images = []
    for vi in feeds:
        dims = _dims(vi)
        layout = _layout(dims) or (layout_hint.upper() if dims and len(dims) == 4 else '')
        if layout:
            images.append((vi, dims, layout))
    if len(images) > 1:
        raise ClassifierError('model file %s has %d image-like inputs (%s); this node feeds one '
                              'image' % (path, len(images), ', '.join(
                                  '%r %s' % (vi.name, dims) for vi, dims, _l in images)))
    if not images:
        raise ClassifierError(
            'model file %s has no image input: inputs %s; expected one (N, 3, H, W) or '
            '(N, H, W, 3) tensor (set layout: NCHW or NHWC in its model card if the channel axis '
            'is dynamic)' % (path, ', '.join('%r %s' % (vi.name, _dims(vi)) for vi in feeds)
                             or 'none'))
    image, dims, layout = images[0]
    others = [vi for vi in feeds if vi is not image]
    if others:
        raise ClassifierError('model file %s: input %r %s is not an image and has no initializer;'
                              ' this node feeds only the image input %r' % (
                                  path, others[0].name, _dims(others[0]), image.name))
    if _elem_type(image) not in FEEDABLE:
        raise ClassifierError('model file %s: image input %r is %s; this node feeds float32 '
                              '(also float16/float64) images' % (
                                  path, image.name, _type_name(_elem_type(image))))
    if dims[0] not in (1, -1):
        raise ClassifierError('model file %s: image input %r has a fixed batch of %d; this node '
                              'classifies one frame at a time (export with batch 1 or dynamic)'
                              % (path, image.name, dims[0]))
    hw = dims[2:4] if layout == 'NCHW' else dims[1:3]
    if hw[0] > 0 and hw[1] > 0 and hw[0] != hw[1]:
        raise ClassifierError('model file %s: image input %r is %dx%d; this node feeds square '
                              'images only' % (path, image.name, hw[0], hw[1]))
    output = _choose_output(path, graph, output_hint)
    out_dims = _dims(output)
    classes = _classes(path, output.name, out_dims)
    op = _softmax_before(graph, output.name)
    if op == 'Softmax':
        kind, reason = 'probabilities', 'the graph ends in Softmax: its output is used as is'
    else:
        kind, reason = 'logits', 'no Softmax at the end (%s): softmax applied by the node' % (
            op or 'unknown op')
    return {
        'path': os.path.abspath(path), 'opset': opset, 'ir_version': int(model.ir_version),
        'producer': ('%s %s' % (model.producer_name, model.producer_version)).strip(),
        'input': {'name': image.name, 'shape': dims, 'layout': layout,
                  'dtype': FEEDABLE[_elem_type(image)], 'dynamic_batch': dims[0] == -1,
                  'size': hw[0] if hw[0] > 0 else None},
        'skipped_inputs': skipped,
        'output': {'name': output.name, 'shape': out_dims, 'classes': classes},
        'output_kind': kind, 'output_reason': reason,
    }


def _choose_output(path, graph, output_hint):
    outputs = list(graph.output)
    if output_hint:
        named = [o for o in outputs if o.name == output_hint]
        if not named:
            raise ClassifierError('model file %s has no output %r (its outputs: %s)' % (
                path, output_hint, ', '.join(repr(o.name) for o in outputs)))
        return named[0]
    if len(outputs) > 1:
        raise ClassifierError('model file %s has %d outputs (%s); name the class scores with '
                              'output: NAME in its model card' % (
                                  path, len(outputs), ', '.join(repr(o.name) for o in outputs)))
    return outputs[0]


def _classes(path, name, dims):
    """N for an output of shape (1, N), (N,) or (1, N, 1, 1); None if N is dynamic."""
    if dims is None:
        return None
    core = list(dims)
    if len(core) == 4 and core[2:] == [1, 1]:
        core = core[:2]
    if len(core) == 2 and core[0] in (1, -1):
        core = core[1:]
    if len(core) != 1:
        raise ClassifierError('model file %s: output %r has shape %s, not a class vector; a '
                              'classifier outputs (1, N) or (1, N, 1, 1)' % (path, name, dims))
    return core[0] if core[0] > 0 else None
