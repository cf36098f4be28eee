# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Profile the classifier node's per-frame work in-process (benchmarks/cpu-2core-overhead).

Starts a ClassifierNode with the null backend in this process, then calls its frame handler
directly on one random rgb8 frame: N frames timed with the thread's CPU clock (median), the
steps of a frame timed one by one, warm (the same frame again and again, as a loop keeps it in
the caches) and cold (16 MB of other memory touched before each step, as a running node finds
its caches after the other processes had the core between two frames), then N frames under
cProfile with the same clock. Nobody subscribes to ``latency/*``. Run it against another source
tree with ``PYTHONPATH=/path/to/checkout`` to compare versions.

    python tools/profile_node.py 224 224 1000
"""

import cProfile
import inspect
import io
import os
import pstats
import sys
import time

import numpy


def thread_cpu():
    return time.clock_gettime(time.CLOCK_THREAD_CPUTIME_ID)


def main():
    os.environ.setdefault('ROS_DOMAIN_ID', '91')
    import rclpy
    from rclpy.parameter import Parameter
    import trt_classifier
    from trt_classifier.classifier_node import ClassifierNode
    from trt_classifier.imgconv import rgb_to_image_msg
    width, height, frames = (int(v) for v in sys.argv[1:4])
    print('source %s' % os.path.dirname(trt_classifier.__file__))
    rclpy.init()
    node = ClassifierNode(parameter_overrides=[Parameter('backend', value='null'),
                                               Parameter('weights', value='random')])
    try:
        served = getattr(node, 'core', node)  # after issue #16 the backend is the core's
        while served.backend is None:
            time.sleep(0.05)
        # versions after issue #15 take the callback's CPU time as a third argument
        extra = (0.0,) if len(inspect.signature(node._process).parameters) > 2 else ()
        if hasattr(node, 'wall_clock'):
            node.wall_clock = True  # no /clock
        rgb = numpy.random.RandomState(0).randint(0, 255, (height, width, 3)).astype(numpy.uint8)
        msg = rgb_to_image_msg(rgb, 'rgb8', frame_id='f')
        for _ in range(50):
            node._process(msg, time.perf_counter(), *extra)
        cpu = []
        for _ in range(frames):
            start = thread_cpu()
            node._process(msg, time.perf_counter(), *extra)
            cpu.append((thread_cpu() - start) * 1000.0)
        cpu.sort()
        print('%dx%d _process CPU median %.3f ms, mean %.3f ms (n=%d, thread CPU clock)' % (
            width, height, cpu[len(cpu) // 2], sum(cpu) / frames, frames))
        steps(node, served, msg, frames, extra)
        profile = cProfile.Profile(thread_cpu)
        profile.enable()
        for _ in range(frames):
            node._process(msg, time.perf_counter(), *extra)
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats('tottime').print_stats(14)
        print('\n'.join(line for line in out.getvalue().splitlines() if line.strip()))
    finally:
        node.close()
        node.destroy_node()
        rclpy.try_shutdown()


def steps(node, served, msg, frames, extra):
    """Print the median thread CPU of each step of a frame, warm and cold (trees after #16)."""
    from trt_classifier.imgconv import image_msg_to_rgb
    from trt_classifier.preprocess import resize_rgb, top_k
    backend, settings = served._serving
    pre = settings.preprocessor
    rgb = image_msg_to_rgb(msg)
    batch = pre(rgb)
    logits = backend.infer(batch)
    work = [
        ('conversion (image_msg_to_rgb)', lambda: image_msg_to_rgb(msg)),
        ('preprocessing (Preprocessor: resize, crop, normalisation)', lambda: pre(rgb)),
        ('of which resize and crop (resize_rgb)',
         lambda: resize_rgb(rgb, pre.size, pre.resize)),
        ('null inference', lambda: backend.infer(batch)),
        ('top-k', lambda: top_k(logits, settings.top_k, settings.probabilities)),
        ('whole frame (_process)', lambda: node._process(msg, time.perf_counter(), *extra)),
    ]
    other = numpy.ones(16 << 17)  # 16 MB: more than the caches of a core
    print('| step (median thread CPU ms, %d frames) | warm | cold |' % frames)
    print('|---|---:|---:|')
    for name, call in work:
        medians = []
        for cold in (False, True):
            cpu = []
            for _ in range(frames):
                if cold:
                    other += 1.0
                start = thread_cpu()
                call()
                cpu.append((thread_cpu() - start) * 1000.0)
            cpu.sort()
            medians.append(cpu[len(cpu) // 2])
        print('| %s | %.3f | %.3f |' % (name, medians[0], medians[1]))


if __name__ == '__main__':
    main()
