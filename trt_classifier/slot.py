# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""A size-1, drop-oldest hand-off between the subscription callback and the inference worker."""

import threading


class LatestSlot(object):
    """Holds at most one item; ``put`` replaces (and counts) an item the worker has not taken.

    A slow model therefore always gets the newest frame, and no queue of stale frames builds up.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._item = None
        self._closed = False
        self.dropped = 0

    def put(self, item):
        """Store ``item``; return True if an older, unprocessed item was dropped."""
        with self._cond:
            dropped = self._item is not None
            if dropped:
                self.dropped += 1
            self._item = item
            self._cond.notify()
            return dropped

    def get(self, timeout=None):
        """Wait for and take the item; None on timeout or after ``close``."""
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def close(self):
        with self._cond:
            self._closed = True
            self._cond.notify_all()
