# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Measure whether inference on the node's worker thread costs time (GPU-machine experiment).

Times ``backend.infer`` (1 warm-up + N) for one model in four settings: on the main thread; on a
worker thread; on a worker thread while the main thread spins an rclpy executor with a
subscription and a 1 Hz timer (what classifier_node does); and the same with the executor's
``spin_once`` timeout at 1.0 s instead of 0.2 s. Prints JSON.
"""

import argparse
import json
import os
import threading

import numpy

from trt_classifier.backends import create_backend
from trt_classifier.frames import read_rgb, samples_dir
from trt_classifier.models import get_spec
from trt_classifier.preprocess import Preprocessor
from trt_classifier.stats import summarize


def timed(backend, batch, n):
    backend.infer(batch)
    out = []
    for _ in range(n):
        backend.infer(batch)
        out.append(backend.last_inference_ms)
    return out


def in_thread(fn):
    box = []
    thread = threading.Thread(target=lambda: box.append(fn()))
    thread.start()
    return thread, box


def with_executor(fn, spin_timeout):
    import rclpy
    from std_msgs.msg import String
    rclpy.init()
    node = rclpy.create_node('overhead_probe')
    node.create_subscription(String, 'nothing', lambda m: None, 10)
    node.create_timer(1.0, lambda: node.get_publishers_info_by_topic('/image'))
    executor = rclpy.executors.SingleThreadedExecutor()
    executor.add_node(node)
    thread, box = in_thread(fn)
    while thread.is_alive():
        executor.spin_once(timeout_sec=spin_timeout)
    node.destroy_node()
    rclpy.try_shutdown()
    return box[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--model', default='squeezenet1_1')
    parser.add_argument('--device', default='gpu')
    parser.add_argument('--n', type=int, default=100)
    args = parser.parse_args()
    backend = create_backend('chainer', args.model, weights='random', device=args.device).load()
    batch = Preprocessor.for_model(get_spec(args.model))(
        read_rgb(os.path.join(samples_dir(), 'chelsea.jpg'))).astype(numpy.float32)
    run = lambda: timed(backend, batch, args.n)  # noqa: E731
    results = {'main thread': run()}
    thread, box = in_thread(run)
    thread.join()
    results['worker thread'] = box[0]
    results['worker + executor (0.2 s)'] = with_executor(run, 0.2)
    results['worker + executor (1.0 s)'] = with_executor(run, 1.0)
    results['main thread again'] = run()
    print(json.dumps({k: {s: round(v, 3) for s, v in summarize(x).items()}
                      for k, x in results.items()}, indent=1))
    backend.close()


if __name__ == '__main__':
    main()
