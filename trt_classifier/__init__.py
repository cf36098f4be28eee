# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Real-time image classification for ROS 2: Chainer, ONNX Runtime and TensorRT backends."""

__version__ = '0.1.0'
