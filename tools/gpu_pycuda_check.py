# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Exercise the TensorRT backend's pycuda plumbing on a real GPU, without TensorRT.

The backend's context, buffer and stream code lives in ``trt_classifier/cuda_plumbing.py``; this
script drives exactly that code the way the backend does (primary context pushed and popped
around every GPU call, on worker threads, sharing memory with CuPy) and fails loudly on any
mismatch. For the GPU test machine (pycuda built from its sdist, CuPy, no TensorRT).

Usage, from the repository root:

    PYTHONPATH=. python3 tools/gpu_pycuda_check.py [--device 0] [--iterations 20]

Prints one JSON summary on stdout; exit status 0 when every check passed, 1 otherwise.
"""

import argparse
import json
import sys
import threading
import time
import traceback
import warnings

import numpy

from trt_classifier.cuda_plumbing import CudaBuffers, PrimaryContext

SPECS = {'input': ((1, 3, 224, 224), numpy.float32), 'logits': ((1, 1000), numpy.float32)}


class CheckFailed(AssertionError):
    pass


def expect_equal(what, got, want):
    got, want = numpy.asarray(got), numpy.asarray(want)
    if got.shape != want.shape or got.dtype != want.dtype or not numpy.array_equal(got, want):
        diff = (float(numpy.max(numpy.abs(got.astype(numpy.float64) - want)))
                if got.shape == want.shape else float('nan'))
        raise CheckFailed('%s: mismatch (got %s %s, want %s %s, max |diff| %g)' % (
            what, got.dtype, got.shape, want.dtype, want.shape, diff))


def numpy_round_trip(buffers, seed):
    """Copy NumPy -> pinned -> device -> pinned for each tensor; return the bytes checked."""
    moved = 0
    for name, (shape, dtype) in sorted(SPECS.items()):
        batch = numpy.random.RandomState(seed).standard_normal(shape).astype(dtype)
        buffers.upload(name, batch)
        buffers.synchronize()  # the async copy reads the pinned buffer until it completes
        buffers.host[name][...] = 0  # so the download must really come from the device
        out = buffers.download(name)
        buffers.synchronize()
        expect_equal('numpy round trip of %s (seed %d)' % (name, seed), out, batch)
        moved += 2 * batch.nbytes
    return moved


def cupy_exchange(cupy, buffers, seed):
    """Copy a CuPy array into a pycuda buffer and back; let CuPy read the pycuda memory."""
    shape, dtype = SPECS['input']
    host = numpy.random.RandomState(seed).standard_normal(shape).astype(dtype)
    on_gpu = cupy.asarray(host)
    cupy.cuda.get_current_stream().synchronize()
    buffers.upload('input', on_gpu)  # memcpy_dtod_async from on_gpu.data.ptr
    out = buffers.download('input')
    buffers.synchronize()
    expect_equal('CuPy -> pycuda device-to-device (seed %d)' % seed, out, host)
    memory = cupy.cuda.UnownedMemory(buffers.pointer('input'), host.nbytes, buffers)
    view = cupy.ndarray(shape, dtype, cupy.cuda.MemoryPointer(memory, 0))
    expect_equal('CuPy reading the pycuda allocation (seed %d)' % seed, cupy.asnumpy(view), host)
    doubled = view * 2  # a CuPy kernel on pycuda's memory, same primary context
    expect_equal('CuPy kernel on pycuda memory (seed %d)' % seed, cupy.asnumpy(doubled), host * 2)
    del view, doubled, on_gpu
    return 3 * host.nbytes


def run_in_thread(target, *args):
    """Run ``target`` on a new thread; re-raise its exception here."""
    result = {}

    def wrapper():
        try:
            result['value'] = target(*args)
        except BaseException as exc:  # carried back to the caller
            result['error'] = exc
            result['trace'] = traceback.format_exc()

    thread = threading.Thread(target=wrapper)
    thread.start()
    thread.join()
    if 'error' in result:
        sys.stderr.write(result['trace'])
        raise result['error']
    return result.get('value')


def worker_retains_and_releases(cuda, cupy, device_id, iterations):
    """Retain + push the primary context on a worker thread, use it, free it, pop, release."""
    ctx = PrimaryContext(cuda, device_id)
    moved = 0
    with ctx.pushed():
        buffers = CudaBuffers(cuda, SPECS)
        try:
            for i in range(iterations):
                moved += numpy_round_trip(buffers, seed=i)
                moved += cupy_exchange(cupy, buffers, seed=1000 + i)
        finally:
            buffers.free()
    ctx.release()
    return {'iterations': iterations, 'bytes_checked': moved}


def shared_context_two_threads(cuda, cupy, ctx, iterations):
    """Use one context retained on this thread from two workers at once (the backend's way)."""
    barrier = threading.Barrier(2)
    results, errors = {}, []

    def worker(index):
        try:
            with ctx.pushed():
                buffers = CudaBuffers(cuda, SPECS)
            barrier.wait(timeout=60)
            moved = 0
            try:
                for i in range(iterations):
                    with ctx.pushed():  # push/pop per call, as the backend's _infer does
                        moved += numpy_round_trip(buffers, seed=index * 10000 + i)
                        moved += cupy_exchange(cupy, buffers, seed=index * 20000 + i)
            finally:
                with ctx.pushed():
                    buffers.free()
            results[index] = moved
        except BaseException:  # reported below
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=worker, args=(i,), name='worker-%d' % i) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        for trace in errors:
            sys.stderr.write(trace)
        raise CheckFailed('%d worker thread(s) failed: %s' % (
            len(errors), ' | '.join(e.strip().splitlines()[-1] for e in errors)))
    return {'threads': 2, 'iterations_each': iterations, 'bytes_checked': sum(results.values())}


def unpushed_thread_alloc(cuda):
    """Without a pushed context a worker's allocation should fail (docs/TENSORRT.md section 5)."""
    try:
        alloc = cuda.mem_alloc(16)
    except Exception as exc:  # the expected outcome
        return {'raised': True, 'error': str(exc).strip().splitlines()[0]}
    alloc.free()
    return {'raised': False, 'error': None}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', type=int, default=0)
    parser.add_argument('--iterations', type=int, default=20)
    args = parser.parse_args(argv)

    import cupy
    import pycuda
    import pycuda.driver as cuda

    summary = {'ok': False, 'checks': {}, 'failures': []}
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        ctx = PrimaryContext(cuda, args.device)
        summary.update(device=ctx.device_name(),
                       compute_capability='%d.%d' % ctx.compute_capability(),
                       pycuda=getattr(pycuda, 'VERSION_TEXT', None), cupy=cupy.__version__,
                       numpy=numpy.__version__, python=sys.version.split()[0])
        checks = [
            ('worker_retains_and_releases', lambda: run_in_thread(
                worker_retains_and_releases, cuda, cupy, args.device, args.iterations)),
            ('shared_context_two_threads', lambda: shared_context_two_threads(
                cuda, cupy, ctx, args.iterations)),
            ('unpushed_thread_alloc', lambda: run_in_thread(unpushed_thread_alloc, cuda)),
        ]
        for name, check in checks:
            try:
                summary['checks'][name] = check()
            except BaseException as exc:  # recorded, then the script exits 1
                traceback.print_exc()
                summary['checks'][name] = {'error': '%s: %s' % (type(exc).__name__, exc)}
                summary['failures'].append(name)
        current = cuda.Context.get_current()
        summary['main_thread_context_after'] = None if current is None else 'still current'
        if current is not None:
            summary['failures'].append('main thread still has a current context')
        ctx.release()
        cleanup = [str(w.message) for w in caught if 'clean' in str(w.message).lower()]
    summary['cleanup_warnings'] = cleanup
    if cleanup:
        summary['failures'].append('pycuda cleanup warnings: %s' % '; '.join(cleanup))
    summary['seconds'] = round(time.perf_counter() - start, 3)
    summary['ok'] = not summary['failures']
    print(json.dumps(summary, indent=2, sort_keys=True))
    if not summary['ok']:
        sys.stderr.write('FAILED: %s\n' % ', '.join(summary['failures']))
    return 0 if summary['ok'] else 1


if __name__ == '__main__':
    sys.exit(main())
