# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Helpers for the package's launch files (imported only by them: needs ``launch``).

``ros2 launch`` returns 0 or 1 only: 1 when an exception reaches its event loop
(launch_service.py, ``return_code = 1``). A process that exits non-zero is logged ("process has
died") and otherwise ignored. These handlers turn a node's failure into a failed launch.
"""

from launch.actions import EmitEvent, RegisterEventHandler
from launch.event_handlers import OnProcessExit
from launch.events import Shutdown

from trt_classifier.errors import ClassifierError


def end_launch_with(action, what):
    """When ``action`` exits, end the launch; fail it if ``action`` exited non-zero.

    ``what`` names the failure in the one error line launch prints, e.g. 'the benchmark failed'.
    An exit during the launch's own shutdown (Ctrl-C) is not a failure.
    """
    def on_exit(event, context):
        if getattr(context, 'is_shutdown', False):
            return None
        if event.returncode != 0:
            raise ClassifierError('%s: %s exited with code %d (see its log above)' % (
                what, event.action.name, event.returncode))
        return [EmitEvent(event=Shutdown(reason='%s finished' % event.action.name))]
    return RegisterEventHandler(OnProcessExit(target_action=action, on_exit=on_exit))


def launch_default(value):
    """Write a schema default as a launch argument's string (``true``/``false`` for booleans)."""
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)
