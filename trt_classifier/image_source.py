# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""image_source: publish ``image`` from photos, folders, videos or a camera, at ``rate_hz``.

Camera drivers (usb_cam, v4l2_camera) remain the normal live source; this node makes demos and
benchmarks reproducible.
"""

import sys

from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image

from trt_classifier import rosutil
from trt_classifier.errors import ClassifierError
from trt_classifier.frames import FrameSource
from trt_classifier.imgconv import (check_publish_encoding, COMPRESSED_FORMATS,
                                    rgb_to_compressed_msg, rgb_to_image_msg)

PARAMS = [
    ('source', 'samples', 'samples (bundled photos), an image file, a folder, a video file or '
                          'camera:N'),
    ('rate_hz', 10.0, 'frames per second'),
    ('encoding', 'rgb8', 'rgb8, bgr8, rgba8, bgra8 or mono8'),
    ('frame_id', 'camera', 'header.frame_id'),
    ('width', 0, 'resize to this width (0: keep)'),
    ('height', 0, 'resize to this height (0: keep)'),
    ('loop', True, 'restart files, folders and videos at the end'),
    ('count', 0, 'stop after this many frames (0: never)'),
    ('qos', 'reliable', 'reliable (like most camera drivers) or sensor_data (best effort)'),
    ('transport', 'raw', 'raw (sensor_msgs/Image on image) or compressed '
                         '(sensor_msgs/CompressedImage on image/compressed)'),
    ('compressed_format', 'jpeg', 'jpeg or png (transport:=compressed)'),
]


class ImageSource(Node):

    def __init__(self, **kwargs):
        super(ImageSource, self).__init__('image_source', **kwargs)
        for name, default, text in PARAMS:
            self.declare_parameter(name, default, rosutil.descriptor(text, read_only=True))
        p = {name: self.get_parameter(name).value for name, _d, _t in PARAMS}
        if p['rate_hz'] <= 0:
            raise ClassifierError('rate_hz must be > 0, not %r' % p['rate_hz'])
        if p['qos'] not in ('reliable', 'sensor_data'):
            raise ClassifierError('qos must be reliable or sensor_data, not %r' % p['qos'])
        check_publish_encoding(p['encoding'])
        if p['transport'] not in ('raw', 'compressed'):
            raise ClassifierError('transport must be raw or compressed, not %r' % p['transport'])
        if p['compressed_format'] not in COMPRESSED_FORMATS:
            raise ClassifierError('compressed_format must be one of %s, not %r' % (
                ', '.join(COMPRESSED_FORMATS), p['compressed_format']))
        self.params = p
        self.frames = FrameSource(p['source'], p['loop'], (p['width'], p['height']))
        reliability = 'reliable' if p['qos'] == 'reliable' else 'best_effort'
        qos = rosutil.make_qos(reliability, 1)
        if p['transport'] == 'compressed':  # image_transport's topic name for it
            topic = rosutil.resolve_topic(self, 'image').rstrip('/') + '/compressed'
            self.pub = self.create_publisher(CompressedImage, topic, qos)
        else:
            self.pub = self.create_publisher(Image, 'image', qos)
        self.sent = 0
        self.cached = {}
        self.finished = False
        self.create_timer(1.0 / p['rate_hz'], self._tick)
        self.get_logger().info('publishing %s from %s at %.1f Hz (%s)' % (
            p['compressed_format'] if p['transport'] == 'compressed' else p['encoding'],
            p['source'], p['rate_hz'], p['qos']))

    def _tick(self):
        if self.finished:
            return
        frame = self.frames.read()
        if frame is None or (self.params['count'] and self.sent >= self.params['count']):
            self.get_logger().info('published %d frames; done' % self.sent)
            self.finished = True
            return
        key = id(frame)
        msg = self.cached.get(key)
        if msg is None:
            if self.params['transport'] == 'compressed':
                msg = rgb_to_compressed_msg(frame, self.params['compressed_format'],
                                            frame_id=self.params['frame_id'])
            else:
                msg = rgb_to_image_msg(frame, self.params['encoding'],
                                       frame_id=self.params['frame_id'])
            if self.frames.images is not None:  # still pictures: convert each one once
                self.cached[key] = msg
        msg.header.stamp = self.get_clock().now().to_msg()
        self.pub.publish(msg)
        self.sent += 1

    def close(self):
        self.frames.close()


def main(args=None):
    return rosutil.run(ImageSource, args=args, logger_name='image_source')


if __name__ == '__main__':
    sys.exit(main())
