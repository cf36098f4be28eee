# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Reliability figures for the README: overload (fast camera, slow model) and soak (memory).

    PYTHONPATH=test python tools/reliability_bench.py overload --seconds 30
    PYTHONPATH=test python tools/reliability_bench.py soak --frames 10000 \
        --backends chainer,onnxruntime

(test/ on PYTHONPATH: the probe is the tests' own, test/support.py.)

Each classifier_node and camera runs in its own process over real DDS; figures are printed as
JSON with the machine they ran on.
"""

import argparse
import json
import os
import signal
import sys
import time

from support import Probe  # test/support.py: run with PYTHONPATH=test

from trt_classifier import env_info
from trt_classifier.frames import read_rgb, samples_dir
from trt_classifier.imgconv import rgb_to_image_msg
from trt_classifier.procs import large_frame_env, NodeProcess, ros_args
from trt_classifier.stats import summarize


def overload(args):
    ns = '/overload'
    # One BLAS thread for the model leaves the second core to the camera process.
    env = dict(large_frame_env(), OPENBLAS_NUM_THREADS='1', OMP_NUM_THREADS='1')
    node = NodeProcess('trt_classifier.classifier_node', ros_args(ns, {
        'backend': 'chainer', 'model': args.model, 'weights': 'random'}), env=env)
    camera = None
    probe = Probe(ns)
    try:
        probe.wait_subscribed(120)
        probe.classify(rgb_to_image_msg(read_rgb(os.path.join(samples_dir(), 'chelsea.jpg'))),
                       timeout=300)  # loaded and warm
        probe.topics['latency/age_ms'][:] = []
        camera = NodeProcess('trt_classifier.image_source', ros_args(ns, {
            'rate_hz': args.rate_hz, 'width': 640, 'height': 480}), env=large_frame_env())
        start = time.monotonic()
        probe.spin(args.seconds)
        elapsed = time.monotonic() - start
        camera.stop(signal.SIGINT)
        probe.spin(2.0)
        diag = probe.diagnostic_values()
    finally:
        for proc in (camera, node):
            if proc is not None:
                proc.cleanup()
        probe.close()
    ages = probe.topics['latency/age_ms']
    return {
        'test': 'overload', 'model': args.model, 'camera_hz': args.rate_hz,
        'seconds': round(elapsed, 1), 'frames_received': int(diag['frames_received']),
        'frames_done': int(diag['frames_done']), 'frames_dropped': int(diag['frames_dropped']),
        'frames_rejected': int(diag['frames_rejected']),
        'frames_failed': int(diag['frames_failed']),
        'answered_hz': round(len(ages) / elapsed, 2), 'age_ms': summarize(ages),
        'age_ms_first_10': ages[:10], 'age_ms_last_10': ages[-10:],
    }


def soak(args):
    out = []
    msg = rgb_to_image_msg(read_rgb(os.path.join(samples_dir(), 'chelsea.jpg')))
    for backend in args.backends.split(','):
        ns = '/soak_' + backend
        node = NodeProcess('trt_classifier.classifier_node', ros_args(ns, {
            'backend': backend, 'model': args.model, 'weights': 'random'}))
        probe = Probe(ns)
        rss = {}
        try:
            probe.wait_subscribed(120)
            start = time.monotonic()
            for i in range(1, args.frames + 1):
                if probe.classify(msg, timeout=60) is None:
                    raise RuntimeError('%s: no result for frame %d' % (backend, i))
                if i in (1000, args.frames) or i % 2000 == 0:
                    probe.spin(1.1)  # let a diagnostics message arrive
                    rss[i] = float(probe.diagnostic_values()['rss_mb'])
                    sys.stderr.write('%s frame %d rss %.1f MB\n' % (backend, i, rss[i]))
            elapsed = time.monotonic() - start
        finally:
            node.cleanup()
            probe.close()
        growth = (rss[args.frames] - rss[1000]) / rss[1000]
        out.append({'test': 'soak', 'backend': backend, 'model': args.model,
                    'frames': args.frames, 'seconds': round(elapsed, 1), 'rss_mb': rss,
                    'growth_1000_to_end': round(growth, 4)})
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest='command')
    p = sub.add_parser('overload')
    p.add_argument('--model', default='efficientnet_lite0')
    p.add_argument('--rate-hz', type=float, default=100.0)
    p.add_argument('--seconds', type=float, default=30.0)
    p = sub.add_parser('soak')
    p.add_argument('--model', default='squeezenet1_1')
    p.add_argument('--frames', type=int, default=10000)
    p.add_argument('--backends', default='chainer,onnxruntime')
    args = parser.parse_args()
    result = overload(args) if args.command == 'overload' else soak(args)
    env = env_info.environment()
    print(json.dumps({'result': result, 'machine': {k: env[k] for k in (
        'cpu', 'cpu_count', 'platform', 'python', 'ros_distro', 'versions')}}, indent=1))


if __name__ == '__main__':
    main()
