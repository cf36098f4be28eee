# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Chainer: the eager baseline, on NumPy (CPU) or CuPy (GPU), and its per-layer profiler.

The profiler is a function hook timing every ``FunctionNode`` of the forward. On the CPU with
``time.perf_counter``; on the GPU with CUDA events (``cupy.cuda.Event``) recorded on the current
stream around each function and read after the forward has finished, so the GPU is never
synchronised per function. (Chainer's own ``TimerHook`` also uses CUDA events but calls
``stop.synchronize()`` after every function, which serialises host and device and inflates the
very gaps the profile is meant to show.) No fusion: every function is one executed layer.
"""

import time

from trt_classifier import artefacts
from trt_classifier.backends.base import Backend
from trt_classifier.compat import import_chainer
from trt_classifier.errors import BackendUnavailable, ClassifierError
from trt_classifier.layer_kinds import layer, layer_kind


class ChainerBackend(Backend):
    """Options: ``use_cudnn`` ('auto' | 'always' | 'never'), ``autotune`` (bool).

    (Chainer's experimental static subgraph optimisation is tools/chainer_static_graph.py's.)
    """

    name = 'chainer'

    def _load(self):
        self.chainer = import_chainer()
        weights = artefacts.resolve_weights(self.model_name, self.weights, self.cache_dir)
        self.weights_identity = weights.identity
        self.model = artefacts.chainer_model(weights)
        self.xp = __import__('numpy')
        if self.device_kind == 'gpu':
            try:
                import cupy
            except ImportError as exc:
                raise BackendUnavailable(
                    'device:=%s with backend chainer needs CuPy (%s): pip install cupy-cudaXXx '
                    'matching your CUDA, or build it on Jetson' % (self.device, exc)) from exc
            self.xp = cupy
            self.model.to_device('@cupy:%d' % self.device_id)
            self.chainer.config.autotune = bool(self.options.get('autotune', False))
        self.use_cudnn = self.options.get('use_cudnn', 'auto')

    def forward(self, x):
        """Run the model's forward on ``x``; return its Variable (what :meth:`infer` times).

        No config, device or copy: :meth:`infer` sets those around it. A subclass may run it
        another way (tools/chainer_static_graph.py replays a static schedule).
        """
        return self.model.forward(x)

    def _infer(self, batch):
        chainer = self.chainer
        with chainer.using_config('train', False), chainer.no_backprop_mode(), \
                chainer.using_config('use_cudnn', self.use_cudnn):
            if self.device_kind == 'gpu':
                with self.xp.cuda.Device(self.device_id):
                    y = self.forward(self.xp.asarray(batch))
                    # to_cpu waits for the kernels: the clock stops after the GPU has finished.
                    return chainer.backends.cuda.to_cpu(y.array).reshape(len(y), -1)
            y = self.forward(batch).array
            return y.reshape(len(y), -1)  # a user's network may return (1, N, 1, 1)

    def record_layers(self, batch, runs):
        """1 warm-up, ``runs`` hooked forwards, ``runs`` plain ones (see :class:`Backend`).

        ``{'timing', 'runs': [{'wall_ms', 'calls': [[function, link, ms], ...]}],
        'unprofiled_ms'}``. Forwards go through :meth:`infer` (train=False, no_backprop_mode,
        output copied to the host, so on the GPU the wall clock stops after the device has
        finished).
        """
        self.load()
        cupy = self.xp if self.device_kind == 'gpu' else None
        x = self.xp.asarray(batch)
        hook = layer_timer(self.chainer, _param_links(self.model), cupy)
        self.infer(x)  # warm-up: not recorded
        records = []
        for _ in range(runs):
            with hook:
                self.infer(x)
            records.append({'wall_ms': self.last_inference_ms, 'calls': hook.collect()})
        unprofiled = self.unprofiled_ms(x, runs)
        return {'timing': 'cuda events per function' if cupy is not None else
                          'time.perf_counter per function',
                'runs': records, 'unprofiled_ms': unprofiled}

    @staticmethod
    def layers_from_record(raw):
        parsed = chainer_layers(raw)
        return parsed['layers'], parsed['wall_ms'], {}, [
            "wall_ms is the mean hooked forward; the hook's own Python work counts as idle. "
            'wall_unprofiled_ms is without the hook.']

    def _close(self):
        self.model = None


def layer_timer(chainer, param_links, cupy=None):
    """Return a FunctionHook recording ``[function, link, ms]`` per top-level function.

    ``param_links`` maps ``id(param.array)`` to the owning link's path. With ``cupy`` the times
    come from CUDA events read in :meth:`collect` (call it after the device has finished).
    """

    class LayerTimer(chainer.FunctionHook):
        name = 'trt_classifier.chainer.LayerTimer'

        def __init__(self):
            self.calls = []
            self._pending = []
            self._stack = []

        def forward_preprocess(self, function, in_data):
            if cupy is None:
                self._stack.append(time.perf_counter())
            else:
                start = cupy.cuda.Event()
                start.record()
                self._stack.append(start)

        def forward_postprocess(self, function, in_data):
            start = self._stack.pop()
            if self._stack:  # a function called inside another: its time is in the outer one
                return
            op = getattr(function, '_impl_name', None) or function.label
            link = None
            for array in in_data:
                link = param_links.get(id(array))
                if link is not None:
                    break
            if cupy is None:
                self.calls.append([op, link, (time.perf_counter() - start) * 1000.0])
            else:
                stop = cupy.cuda.Event()
                stop.record()
                self._pending.append((op, link, start, stop))

        def collect(self):
            """Return and clear the calls recorded so far (GPU: after a synchronize)."""
            for op, link, start, stop in self._pending:
                stop.synchronize()
                self.calls.append([op, link, float(cupy.cuda.get_elapsed_time(start, stop))])
            self._pending = []
            calls, self.calls = self.calls, []
            return calls

    return LayerTimer()


def _param_links(model):
    links = {}
    for path, param in model.namedparams():
        if param.array is not None:
            links[id(param.array)] = path.rsplit('/', 1)[0] or '/'
    return links


def chainer_layers(raw):
    """Normalised layers from :meth:`ChainerBackend.record_layers`: mean ms per call position.

    A layer is named after the link whose parameters it reads (``/fire2/squeeze``) or, for
    parameter-free functions, ``<Function>_<n>`` counted per function type in call order.
    """
    runs = raw['runs']
    if not runs:
        raise ClassifierError('chainer profile has no recorded runs')
    first = runs[0]['calls']
    for index, run in enumerate(runs):
        if [c[0] for c in run['calls']] != [c[0] for c in first]:
            raise ClassifierError('chainer forward %d called different functions than forward 0 '
                                  '(%d vs %d calls)' % (index, len(run['calls']), len(first)))
    counters = {}
    seen = {}
    layers = []
    for position, (op, link, _ms) in enumerate(first):
        if link:
            seen[link] = seen.get(link, 0) + 1
            name = link if seen[link] == 1 else '%s#%d' % (link, seen[link])
        else:
            counters[op] = counters.get(op, 0)
            name = '%s_%d' % (op, counters[op])
            counters[op] += 1
        mean = sum(float(run['calls'][position][2]) for run in runs) / len(runs)
        kind = layer_kind(op)
        layers.append(layer(name, op, kind, mean, [name], [kind]))
    wall = sum(float(run['wall_ms']) for run in runs) / len(runs)
    return {'layers': layers, 'wall_ms': wall, 'executed_per_run': [len(r['calls']) for r in runs]}
