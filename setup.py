# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
import glob

from setuptools import find_packages, setup

package_name = 'trt_classifier'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*']),
    package_data={package_name: ['data/*.txt', 'data/samples/*']},
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/launch', glob.glob('launch/*.launch.py')),
        ('share/' + package_name + '/config', glob.glob('config/*.yaml') +
         glob.glob('config/*.xml')),
    ],
    install_requires=['setuptools'],
    zip_safe=False,
    maintainer='trt_classifier maintainers',
    maintainer_email='maintainers@trt-classifier.invalid',
    description='Real-time ROS 2 image classification: Chainer, ONNX Runtime and TensorRT',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'classifier_node = trt_classifier.classifier_node:main',
            'image_source = trt_classifier.image_source:main',
            'bench = trt_classifier.bench_node:main',
            'trt-classifier = trt_classifier.cli:main',
        ],
    },
)
