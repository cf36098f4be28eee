# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""The null backend: fixed logits, no compute. Its round trip is the harness's own overhead."""

import numpy

from trt_classifier.backends.base import Backend


class NullBackend(Backend):
    name = 'null'

    def _load(self):
        self.weights = self.weights_identity = 'none'  # no weights, whatever was asked
        self._logits = numpy.zeros((1, 1000), dtype=numpy.float32)
        self._logits[0, 0] = 1.0
        self._logits.flags.writeable = False  # handed out as it is for a batch of one

    def _infer(self, batch):
        if len(batch) == 1:
            return self._logits
        return numpy.repeat(self._logits, len(batch), axis=0)
