# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""SqueezeNet v1.1 (Iandola et al., 2016), in torchvision's ``squeezenet1_1`` layout.

1,235,496 parameters. Max pooling is ceil-mode (Chainer's ``cover_all=True``); at 224x224 input
the feature maps are 111 -> 55 -> 27 -> 13, as in the reference.
"""

from trt_classifier.compat import import_chainer

chainer = import_chainer()
F = chainer.functions
L = chainer.links


class Fire(chainer.Chain):
    """Squeeze 1x1 -> ReLU, then 1x1 and 3x3 expands (each ReLU) concatenated on channels."""

    def __init__(self, in_channels, squeeze, expand1x1, expand3x3):
        super(Fire, self).__init__()
        with self.init_scope():
            self.squeeze = L.Convolution2D(in_channels, squeeze, 1)
            self.expand1x1 = L.Convolution2D(squeeze, expand1x1, 1)
            self.expand3x3 = L.Convolution2D(squeeze, expand3x3, 3, pad=1)

    def forward(self, x):
        h = F.relu(self.squeeze(x))
        return F.concat((F.relu(self.expand1x1(h)), F.relu(self.expand3x3(h))), axis=1)


def _max_pool(x):
    return F.max_pooling_2d(x, 3, stride=2, cover_all=True)


class SqueezeNet11(chainer.Chain):
    """SqueezeNet 1.1; ``forward(x)`` maps ``(N, 3, H, W)`` to ``(N, n_classes)`` logits."""

    def __init__(self, n_classes=1000):
        super(SqueezeNet11, self).__init__()
        with self.init_scope():
            self.conv1 = L.Convolution2D(3, 64, 3, stride=2)
            self.fire2 = Fire(64, 16, 64, 64)
            self.fire3 = Fire(128, 16, 64, 64)
            self.fire4 = Fire(128, 32, 128, 128)
            self.fire5 = Fire(256, 32, 128, 128)
            self.fire6 = Fire(256, 48, 192, 192)
            self.fire7 = Fire(384, 48, 192, 192)
            self.fire8 = Fire(384, 64, 256, 256)
            self.fire9 = Fire(512, 64, 256, 256)
            # The reference initialises the classifier conv with N(0, 0.01).
            self.conv10 = L.Convolution2D(
                512, n_classes, 1, initialW=chainer.initializers.Normal(0.01))

    def forward(self, x):
        h = _max_pool(F.relu(self.conv1(x)))
        h = self.fire3(self.fire2(h))
        h = _max_pool(h)
        h = self.fire5(self.fire4(h))
        h = _max_pool(h)
        h = self.fire9(self.fire8(self.fire7(self.fire6(h))))
        h = F.dropout(h, 0.5)
        h = F.relu(self.conv10(h))
        return F.mean(h, axis=(2, 3))
