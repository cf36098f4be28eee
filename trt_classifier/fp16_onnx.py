# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""An fp16 copy of an fp32 ONNX export, for runtimes whose networks are strongly typed.

TensorRT-RTX takes each tensor's precision from the ONNX model (it has no FP16 builder flag), so
``precision:=fp16`` builds from a converted model: weights and compute in fp16, the input and
the output kept fp32 (Cast nodes at the edges), so the node feeds and reads the same arrays.
The conversion is ONNX Runtime's maintained converter,
``onnxruntime.transformers.float16.convert_float_to_float16(model, keep_io_types=True)``; it
needs ``onnx``, ``numpy`` and ``packaging``, all pinned. ``artefacts.onnx_fp16`` caches it.
"""

from trt_classifier.errors import ClassifierError

CONVERTER = 'onnxruntime.transformers.float16.convert_float_to_float16(keep_io_types=True)'


def convert(model_proto):
    """Return the fp16 ``onnx.ModelProto`` of an fp32 one (I/O stay fp32), checked."""
    try:
        from onnxruntime.transformers.float16 import convert_float_to_float16
    except ImportError as exc:
        raise ClassifierError("fp16 on TensorRT-RTX converts the ONNX export with ONNX Runtime's "
                              'converter, which cannot be imported here (%s): pip install '
                              'onnxruntime packaging' % exc) from exc
    import onnx
    converted = convert_float_to_float16(model_proto, keep_io_types=True)
    sort_nodes(converted.graph)
    onnx.checker.check_model(converted)
    return converted


def sort_nodes(graph):
    """Order ``graph.node`` topologically, keeping the given order where it is valid.

    The converter appends the input-side Cast nodes after their consumers, which ONNX Runtime and
    TensorRT accept but ``onnx.checker`` (rightly) rejects.
    """
    known = {''} | {i.name for i in graph.input} | {i.name for i in graph.initializer}
    pending = list(graph.node)
    ordered = []
    while pending:
        waiting = []
        for node in pending:  # one pass emits every node whose inputs exist, chains included
            if all(name in known for name in node.input):
                ordered.append(node)
                known.update(node.output)
            else:
                waiting.append(node)
        if len(waiting) == len(pending):
            raise ClassifierError('the fp16 ONNX graph has a cycle or a missing input at node %s'
                                  % (waiting[0].name or waiting[0].op_type))
        pending = waiting
    copies = [type(node)() for node in ordered]
    for copy, node in zip(copies, ordered):
        copy.CopyFrom(node)
    del graph.node[:]
    graph.node.extend(copies)
