# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""RGB frame -> normalised float32 NCHW batch on the GPU (CuPy), like ``preprocess.Preprocessor``.

The uint8 (H, W, 3) frame is uploaded once (``center_crop``: the square it keeps, see
``preprocess.source_window``, is cut out on the device); one CUDA kernel then does everything
else for each output pixel: bilinear resampling with OpenCV's ``INTER_LINEAR`` geometry
(half-pixel centres, ``src = (dst + 0.5) * scale - 0.5``, clamped at the borders), the channel
order, ``(x / 255 - mean) / std`` and the HWC -> CHW transpose. A frame of the input size is
taken as it is, as on the CPU. The result is a CuPy ``(1, 3, S, S)`` float32 array on the
current device, ready for a GPU backend without a round trip through host memory.

The CPU path rounds the resized image to uint8 (and OpenCV interpolates uint8 in fixed point);
this path keeps the interpolated values in float32. The two agree to about one grey level.
"""

import numpy

from trt_classifier.errors import ClassifierError
from trt_classifier.preprocess import normalisation, source_window

KERNEL_NAME = 'trt_classifier_preprocess'
KERNEL_SOURCE = r"""
extern "C" __global__ void trt_classifier_preprocess(
        const unsigned char* __restrict__ src, float* __restrict__ dst,
        const int src_h, const int src_w, const int size,
        const double scale_y, const double scale_x,
        const int c0, const int c1, const int c2,
        const float m0, const float m1, const float m2,
        const float a0, const float a1, const float a2) {
    const int plane = size * size;
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= plane) {
        return;
    }
    const int y = idx / size;
    const int x = idx - y * size;
    /* Output pixels mapped back to the source (the crop's square) the way
       cv::resize(INTER_LINEAR) maps them: float of (d + 0.5) * scale - 0.5, floored,
       clamped to the first/last pixel with a zero weight. */
    float fy = (float)(((double)y + 0.5) * scale_y - 0.5);
    int sy = (int)floorf(fy);
    fy -= (float)sy;
    if (sy < 0) {
        sy = 0;
        fy = 0.f;
    }
    if (sy >= src_h - 1) {
        sy = src_h - 1;
        fy = 0.f;
    }
    float fx = (float)(((double)x + 0.5) * scale_x - 0.5);
    int sx = (int)floorf(fx);
    fx -= (float)sx;
    if (sx < 0) {
        sx = 0;
        fx = 0.f;
    }
    if (sx >= src_w - 1) {
        sx = src_w - 1;
        fx = 0.f;
    }
    const int sy1 = min(sy + 1, src_h - 1);
    const int sx1 = min(sx + 1, src_w - 1);
    const unsigned char* r0 = src + (long long)sy * src_w * 3;
    const unsigned char* r1 = src + (long long)sy1 * src_w * 3;
    const int p0 = sx * 3;
    const int p1 = sx1 * 3;
    const int chans[3] = {c0, c1, c2};
    const float mul[3] = {m0, m1, m2};
    const float add[3] = {a0, a1, a2};
#pragma unroll
    for (int c = 0; c < 3; ++c) {
        const int k = chans[c];
        const float top_row = (1.f - fx) * (float)r0[p0 + k] + fx * (float)r0[p1 + k];
        const float bottom_row = (1.f - fx) * (float)r1[p0 + k] + fx * (float)r1[p1 + k];
        const float v = (1.f - fy) * top_row + fy * bottom_row;
        dst[(long long)c * plane + idx] = v * mul[c] + add[c];
    }
}
"""
BLOCK = 256

_KERNELS = {}


def _import_cupy():
    try:
        import cupy
    except ImportError as exc:
        raise ClassifierError('GPU preprocessing needs CuPy (%s): pip install cupy-cudaXXx '
                              'matching your CUDA' % (exc,)) from exc
    return cupy


def gpu_available():
    """Return ``(True, 'CuPy X, N GPU(s): name')`` with a CUDA device, else ``(False, why)``."""
    try:
        import cupy
    except Exception as exc:  # ImportError, or a CuPy that fails to load its CUDA libraries
        return False, 'cupy cannot be imported: %s' % (exc,)
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDARuntimeError: no driver, no device
        return False, 'CuPy %s finds no CUDA device: %s' % (cupy.__version__, exc)
    if count < 1:
        return False, 'CuPy %s finds no CUDA device' % cupy.__version__
    try:
        name = cupy.cuda.runtime.getDeviceProperties(0)['name']
        name = name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # the name is only for the message
        name = 'unknown'
    return True, 'CuPy %s, %d GPU(s): %s' % (cupy.__version__, count, name)


def _kernel(cupy):
    device = cupy.cuda.Device().id
    kernel = _KERNELS.get(device)
    if kernel is None:
        kernel = cupy.RawKernel(KERNEL_SOURCE, KERNEL_NAME)
        _KERNELS[device] = kernel
    return kernel


class GpuPreprocessor(object):
    """``preprocess.Preprocessor`` on the GPU: uint8 RGB frame -> CuPy (1, 3, S, S) float32.

    Same arguments and semantics as the CPU class. ``__call__`` accepts a NumPy frame (uploaded
    with one copy) or a CuPy frame already on the device; it returns a CuPy array on the current
    device, computed on the current stream (not synchronised: a backend on the same stream is
    ordered after it, and ``cupy.asnumpy`` waits for it).
    """

    def __init__(self, size=224, resize='center_crop', mean=(0.485, 0.456, 0.406),
                 std=(0.229, 0.224, 0.225), channel_order='rgb'):
        self.size, self.resize, self.channel_order = int(size), resize, channel_order
        # Per output channel, exactly the CPU class's float32 scale and offset.
        self.scale, self.offset = normalisation(resize, mean, std, channel_order)
        # Output channel c reads input (RGB) channel source_channels[c].
        self.source_channels = (0, 1, 2) if channel_order == 'rgb' else (2, 1, 0)
        self.cupy = _import_cupy()

    @classmethod
    def for_model(cls, spec, resize=None, mean=None, std=None, size=None):
        return cls(size or spec.input_size, resize or spec.resize, mean or spec.mean,
                   std or spec.std, spec.channel_order)

    def upload(self, rgb):
        """Return the frame as a C-contiguous uint8 CuPy array on the current device."""
        cupy = self.cupy
        if isinstance(rgb, cupy.ndarray):
            frame = cupy.ascontiguousarray(rgb)
        else:
            frame = cupy.asarray(numpy.ascontiguousarray(rgb))
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != numpy.uint8:
            raise ClassifierError('GPU preprocessing needs an (H, W, 3) uint8 frame, got %s %s' % (
                frame.dtype, tuple(frame.shape)))
        if frame.shape[0] < 1 or frame.shape[1] < 1:
            raise ClassifierError('empty frame %s' % (tuple(frame.shape),))
        return frame

    def __call__(self, rgb):
        """(H, W, 3) uint8 RGB (NumPy or CuPy) -> CuPy (1, 3, S, S) float32."""
        cupy = self.cupy
        frame = self.upload(rgb)
        height, width = int(frame.shape[0]), int(frame.shape[1])
        size = self.size
        top, left, rows, cols = source_window(height, width, size, self.resize)
        if (rows, cols) != (height, width):  # center_crop's square, cut out on the device
            frame = cupy.ascontiguousarray(frame[top:top + rows, left:left + cols])
            height, width = rows, cols
        # OpenCV: scale = 1 / (dst / src), in double.
        scale_y = 1.0 / (float(size) / height)
        scale_x = 1.0 / (float(size) / width)
        out = cupy.empty((1, 3, size, size), dtype=numpy.float32)
        plane = size * size
        grid = ((plane + BLOCK - 1) // BLOCK,)
        c0, c1, c2 = self.source_channels
        args = (frame, out, numpy.int32(height), numpy.int32(width), numpy.int32(size),
                numpy.float64(scale_y), numpy.float64(scale_x),
                numpy.int32(c0), numpy.int32(c1), numpy.int32(c2))
        args += tuple(numpy.float32(v) for v in self.scale)
        args += tuple(numpy.float32(v) for v in self.offset)
        _kernel(cupy)(grid, (BLOCK,), args)
        return out
