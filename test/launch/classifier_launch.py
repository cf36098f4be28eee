# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""launch_testing: classifier.launch.py answers a frame, then every process stops cleanly.

Run by test/test_launch.py as ``launch_test test/launch/classifier_launch.py`` (its own process:
launch_testing's pytest plugin is kept out of the main test run, see setup.cfg). The file name
does not match pytest's patterns, so plain pytest never imports it.
"""

import os
import unittest

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource
import launch_testing
import launch_testing.actions
import launch_testing.asserts

from support import Probe

NAMESPACE = '/lt'


def generate_test_description():
    launch_file = os.path.join(get_package_share_directory('trt_classifier'), 'launch',
                               'classifier.launch.py')
    return LaunchDescription([
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(launch_file),
            launch_arguments={'namespace': NAMESPACE, 'backend': 'onnxruntime',
                              'model': 'squeezenet1_1', 'weights': 'random',
                              'rate_hz': '5.0'}.items()),
        launch_testing.actions.ReadyToTest()])


class TestClassifierAnswers(unittest.TestCase):

    def test_a_frame_from_image_source_gets_a_result(self, proc_output):
        proc_output.assertWaitFor('ready: {"backend": "onnxruntime"', timeout=120)
        probe = Probe(NAMESPACE)
        try:
            self.assertTrue(probe.wait_for(lambda: probe.results(), 60))
            result = probe.results()[0]
        finally:
            probe.close()
        self.assertEqual((result['backend'], result['model']), ('onnxruntime', 'squeezenet1_1'))
        self.assertEqual(len(result['top_k']), 5)


@launch_testing.post_shutdown_test()
class TestCleanStop(unittest.TestCase):

    def test_every_process_exited_0(self, proc_info):
        launch_testing.asserts.assertExitCodes(proc_info)

    def test_no_error_while_stopping(self, proc_output):
        text = ''.join(output.text.decode('utf-8', 'replace') for output in proc_output)
        for bad in ('[ERROR]', 'Traceback', 'context is invalid', 'Failed to publish'):
            self.assertNotIn(bad, text)
