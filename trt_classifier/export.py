# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Export a Chainer model to ONNX with the ``onnx_chainer`` bundled in Chainer 7.8.1.

The graph has one input ``input`` (1, 3, S, S) float32 and one output ``logits`` (1, 1000).
The batch is fixed at 1: onnx_chainer bakes the export batch into the Reshape before each
fully connected layer (F.linear reshapes to (N, -1)), a robot classifies one frame at a time, and a
static shape is what TensorRT builds fastest without optimisation profiles (docs/TENSORRT.md §6).

Memory: onnx_chainer turns every weight into a TensorProto and copies the list into the graph and
the model, and ``SerializeToString`` plus the checker copy it again (VGG16: 4181 MB peak for
553 MB of weights). Here onnx_chainer builds the graph with empty initializers, and
:func:`onnx_chunks` streams the file: the protobuf framing of each initializer, then the weight's
own bytes straight from the Chainer array. The weights are in memory once. The cached step
that writes the file is ``artefacts.onnx_export``.
"""

import collections
import contextlib
import importlib

from trt_classifier.errors import ClassifierError

DEFAULT_OPSET = 11  # onnx_chainer's maximum; in TensorRT 8.0-10.x's range (docs/TENSORRT.md §6)
INPUT_NAME = 'input'
OUTPUT_NAME = 'logits'
EXPORT_FORMAT = 2  # bump when the export procedure changes, to invalidate old cache entries


def clean_graph(model_proto, check=True):
    """Drop initializers from ``graph.input``, refuse Dropout, then run ``onnx.checker``.

    onnx_chainer lists every weight as a graph input too, which stops ONNX Runtime from
    constant folding. ``check=False`` for a graph whose initializers are still empty.
    """
    import onnx
    graph = model_proto.graph
    initializers = {init.name for init in graph.initializer}
    data_inputs = [vi for vi in graph.input if vi.name not in initializers]
    del graph.input[:]
    graph.input.extend(data_inputs)
    dropout = [node.name for node in graph.node if node.op_type == 'Dropout']
    if dropout:
        raise ClassifierError('exported graph still contains Dropout nodes %s' % dropout)
    if check:
        onnx.checker.check_model(model_proto)
    return model_proto


@contextlib.contextmanager
def _weights_by_reference(arrays):
    """Make onnx_chainer record each weight in ``arrays`` and emit an empty initializer."""
    from onnx import numpy_helper
    import numpy
    from trt_classifier.compat import import_chainer
    chainer = import_chainer()
    module = importlib.import_module('onnx_chainer.export')

    def record(parameter, context):
        array = parameter.array if isinstance(parameter, chainer.Variable) else parameter
        array = chainer.backends.cuda.to_cpu(array)
        tensor = numpy_helper.from_array(numpy.empty((0,), array.dtype),
                                         context.get_name(parameter))
        del tensor.dims[:]
        tensor.dims.extend(array.shape)
        arrays[tensor.name] = array
        return tensor

    convert, check = module.convert_parameter, module.check_onnx_model
    module.convert_parameter = record
    module.check_onnx_model = lambda *args: None  # check_skeleton() checks the graph instead
    try:
        yield
    finally:
        module.convert_parameter, module.check_onnx_model = convert, check


def export_skeleton(chain, input_size=224, opset=DEFAULT_OPSET):
    """Return ``(model_proto, arrays)`` for a (1, 3, S, S) input.

    model_proto is the cleaned graph with empty initializers; arrays maps each initializer's
    name to the numpy array holding its data (the Chainer arrays themselves, not copies).
    """
    import numpy
    from trt_classifier.compat import import_chainer
    chainer = import_chainer()
    import onnx_chainer
    x = numpy.zeros((1, 3, input_size, input_size), dtype=numpy.float32)
    arrays = collections.OrderedDict()
    with chainer.using_config('train', False), chainer.no_backprop_mode(), \
            _weights_by_reference(arrays):
        proto = onnx_chainer.export(chain, x, opset_version=opset, input_names=[INPUT_NAME],
                                    output_names=[OUTPUT_NAME], train=False)
    return clean_graph(proto, check=False), arrays


def _varint(value):
    out = bytearray()
    while True:
        byte, value = value & 0x7f, value >> 7
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


def _field(number, length):
    """Return the key and length of a length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(length)


GRAPH_FIELD, INITIALIZER_FIELD, RAW_DATA_FIELD = 7, 5, 9  # ModelProto, GraphProto, TensorProto


def onnx_chunks(skeleton, arrays):
    """Yield the bytes of ``skeleton`` with each initializer's data taken from ``arrays``.

    Protobuf fields may come in any order and a message is the concatenation of its fields, so
    the file is: the model without its graph, the graph's key and length, the graph without its
    initializers, then each initializer (its name/type/dims, then ``raw_data`` as the array's
    little-endian bytes, exactly what ``numpy_helper.from_array`` stores). ``onnx.load`` reads
    it back as the same model.
    """
    import numpy
    import onnx
    model = onnx.ModelProto()
    model.CopyFrom(skeleton)
    headers = [t.SerializeToString() for t in model.graph.initializer]
    datas = []
    for tensor in model.graph.initializer:
        data = numpy.ascontiguousarray(arrays[tensor.name])
        if data.dtype.byteorder == '>':
            data = data.astype(data.dtype.newbyteorder('<'))
        datas.append(data)
    del model.graph.initializer[:]
    graph = model.graph.SerializeToString()
    model.ClearField('graph')
    entries = []
    for header, data in zip(headers, datas):
        tensor_head = header + _field(RAW_DATA_FIELD, data.nbytes)
        size = len(tensor_head) + data.nbytes
        entries.append((_field(INITIALIZER_FIELD, size) + tensor_head, data))
    graph_size = len(graph) + sum(len(head) + data.nbytes for head, data in entries)
    yield model.SerializeToString() + _field(GRAPH_FIELD, graph_size) + graph
    for head, data in entries:
        yield head
        if data.nbytes:
            yield memoryview(data.reshape(-1)).cast('B')


def check_skeleton(skeleton):
    """Run ``onnx.checker`` on the graph with its weights as typed inputs; raise ClassifierError.

    The checker cannot read an initializer without data, and checking the whole model would
    load the file twice over (1.9 GB for VGG16); the weights' sizes are right by construction
    (:func:`onnx_chunks` writes each array whole) and the tests load the file back.
    """
    import onnx
    from onnx import helper
    model = onnx.ModelProto()
    model.CopyFrom(skeleton)
    graph = model.graph
    graph.input.extend(helper.make_tensor_value_info(t.name, t.data_type, t.dims)
                       for t in graph.initializer)
    del graph.initializer[:]
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as exc:
        raise ClassifierError('the ONNX export fails onnx.checker: %s' % exc) from exc
