# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""The backend protocol: load, ``infer(batch)``, close; each backend times its own inference.

A backend with a per-layer profiler (it overrides ``record_layers`` and ``layers_from_record``)
also records its layers and normalises its own records (trt_classifier.profiling sums them up,
compares and renders them).
"""

import logging
import re
import time

from trt_classifier import resources
from trt_classifier.errors import ClassifierError

_DEVICE_RE = re.compile(r'^(cpu|gpu)(?::(\d+))?$')


def parse_device(device):
    """``'cpu'`` -> ('cpu', 0); ``'gpu'`` -> ('gpu', 0); ``'gpu:1'`` -> ('gpu', 1)."""
    match = _DEVICE_RE.match(str(device).strip().lower())
    if not match or (match.group(1) == 'cpu' and match.group(2)):
        raise ClassifierError('device must be cpu, gpu or gpu:N, not %r' % (device,))
    return match.group(1), int(match.group(2) or 0)


class Backend(object):
    """Base class: subclasses implement ``_load``, ``_infer`` and optionally ``_close``.

    ``infer`` takes a float32 ``(N, 3, H, W)`` batch (NumPy, or CuPy for GPU backends) and returns
    NumPy logits ``(N, classes)``, which callers read and never modify (a backend may hand out
    the same array again, read-only). ``last_inference_ms`` is the model time of the last call,
    measured after the device has finished (GPU backends synchronise before the clock stops).
    """

    name = 'base'
    precisions = ('fp32',)  # what this backend runs; None: it validates precision itself

    def __init__(self, model, weights='random', device='cpu', cache_dir=None, precision='fp32',
                 log=None, options=None):
        self.model_name = model
        self.weights = weights
        self.device_kind, self.device_id = parse_device(device)
        self.cache_dir = cache_dir
        self.log = log or logging.getLogger('trt_classifier.' + self.name)
        if self.precisions and precision not in self.precisions:  # report what really runs
            self.log.warning('backend %s runs %s; precision %s does not apply' % (
                self.name, '/'.join(self.precisions), precision))
            precision = self.precisions[0]
        self.precision = precision
        self.options = dict(options or {})
        self.weights_identity = None
        self.last_inference_ms = None
        self.loaded = False
        self.steps = {}  # peak RSS (MB) and seconds of load/export/build, for reports

    @property
    def device(self):
        return 'cpu' if self.device_kind == 'cpu' else 'gpu:%d' % self.device_id

    def load(self):
        if not self.loaded:
            with resources.StepPeak() as step:
                self._load()
            self.steps.update(load_peak_rss_mb=round(step.peak_mb, 1),
                              load_s=round(step.seconds, 2))
            self.loaded = True
        return self

    def infer(self, batch):
        if not self.loaded:
            self.load()
        start = time.perf_counter()
        logits = self._infer(batch)
        self.last_inference_ms = (time.perf_counter() - start) * 1000.0
        return logits

    def close(self):
        if self.loaded:
            self.loaded = False
            self._close()

    def describe(self):
        """Facts for diagnostics and benchmark reports."""
        return {'backend': self.name, 'model': self.model_name, 'device': self.device,
                'precision': self.precision, 'weights': self.weights,
                'weights_identity': self.weights_identity, 'steps': dict(self.steps)}

    def record_layers(self, batch, runs):
        """Profile one warm-up and ``runs`` forwards of ``batch`` layer by layer.

        Returns raw records, JSON-serialisable (tools/record_profiles.py stores them as test
        data): at least ``timing`` (what timed the layers) and ``unprofiled_ms`` (``runs`` plain
        forwards' :attr:`last_inference_ms`), and whatever :meth:`layers_from_record` reads.
        """
        raise ClassifierError('backend %s has no per-layer profiler' % self.name)

    def unprofiled_ms(self, batch, runs):
        """Run ``runs`` plain inferences of ``batch``; return their :attr:`last_inference_ms`."""
        times = []
        for _ in range(runs):
            self.infer(batch)
            times.append(self.last_inference_ms)
        return times

    @staticmethod
    def layers_from_record(raw):
        """Return ``(layers, wall_ms, extra, notes)`` from :meth:`record_layers`'s records.

        ``layers``: ``layer_kinds.layer`` records in execution order; ``wall_ms``: the forward
        time the idle time is taken from; ``extra``: fields of this backend's result; ``notes``:
        how to read its times.
        """
        raise NotImplementedError

    def __enter__(self):
        return self.load()

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        # Fallback only: nodes and the CLI call close() explicitly.
        try:
            self.close()
        except Exception:
            pass

    def _load(self):
        raise NotImplementedError

    def _infer(self, batch):
        raise NotImplementedError

    def _close(self):
        pass
