# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""A user's own Chainer network, as test_user_models imports it: ``tiny_chainer_net:TinyNet``.

Global average pooling, then a linear layer from the 3 colour means to 4 classes: with its
initial weights red, green and blue frames are classes 0, 1 and 2 (see ``COLOUR_WEIGHTS``).
"""

import chainer
import chainer.functions as F
import chainer.links as L
import numpy

# class c's score is the mean of channel c (class 3 is 'dark': minus the sum)
COLOUR_WEIGHTS = numpy.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [-1, -1, -1]], numpy.float32)


class TinyNet(chainer.Chain):

    def __init__(self):
        super(TinyNet, self).__init__()
        with self.init_scope():
            self.fc = L.Linear(3, 4, initialW=COLOUR_WEIGHTS * 4.0)

    def forward(self, x):
        return self.fc(F.average(x, axis=(2, 3)))


class NotALink(object):
    """Importable, but not a chainer.Link: the node must refuse it."""
