# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""LatestSlot: drop-oldest hand-off, drop counter, get timeout, close wakes a waiting get."""

import threading
import time

from trt_classifier.slot import LatestSlot


def test_put_then_get():
    slot = LatestSlot()
    assert slot.put('a') is False
    assert slot.get(timeout=0) == 'a'
    assert slot.dropped == 0


def test_put_replaces_the_unprocessed_item_and_counts_it():
    slot = LatestSlot()
    assert slot.put(1) is False
    assert slot.put(2) is True
    assert slot.put(3) is True
    assert slot.dropped == 2
    assert slot.get(timeout=0) == 3  # the newest, never a stale one
    assert slot.get(timeout=0) is None  # taking empties the slot
    assert slot.put(4) is False  # nothing pending: no drop
    assert slot.dropped == 2


def test_get_times_out_with_none():
    slot = LatestSlot()
    start = time.monotonic()
    assert slot.get(timeout=0.2) is None
    elapsed = time.monotonic() - start
    assert 0.15 <= elapsed < 2.0


def test_get_waits_for_a_put_from_another_thread():
    slot = LatestSlot()
    timer = threading.Timer(0.1, slot.put, args=('frame',))
    timer.start()
    try:
        start = time.monotonic()
        assert slot.get(timeout=5.0) == 'frame'
        assert time.monotonic() - start < 4.0
    finally:
        timer.cancel()


def test_close_wakes_a_waiting_get():
    slot = LatestSlot()
    result = {}
    started = threading.Event()

    def worker():
        started.set()
        start = time.monotonic()
        result['item'] = slot.get()  # no timeout: only close() can end this
        result['waited'] = time.monotonic() - start

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    assert started.wait(5.0)
    time.sleep(0.1)
    assert thread.is_alive()
    slot.close()
    thread.join(5.0)
    assert not thread.is_alive(), 'close() did not wake the waiting get()'
    assert result['item'] is None and result['waited'] >= 0.05


def test_after_close_get_returns_at_once():
    slot = LatestSlot()
    slot.close()
    start = time.monotonic()
    assert slot.get() is None
    assert time.monotonic() - start < 1.0


def test_producer_faster_than_consumer_drops_but_never_goes_back_in_time():
    slot = LatestSlot()
    total = 2000
    seen = []
    done = threading.Event()

    def consumer():
        while True:
            item = slot.get(timeout=0.05)
            if item is None:
                if done.is_set():
                    return
                continue
            seen.append(item)
            time.sleep(0.0005)

    thread = threading.Thread(target=consumer, daemon=True)
    thread.start()
    for i in range(total):
        slot.put(i)
    done.set()
    thread.join(10.0)
    assert not thread.is_alive()
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert seen[-1] == total - 1  # the last frame is always delivered
    assert len(seen) + slot.dropped == total  # every frame was either taken or counted dropped
