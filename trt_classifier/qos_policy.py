# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Which image-subscription QoS to use, and why nothing arrives: pure logic, no ROS imports.

Reliabilities are the strings 'reliable' and 'best_effort'.
"""

IMAGE_QOS_MODES = ('auto', 'sensor_data', 'reliable')
LARGE_FRAME_HINT = (
    'frames above ~512 KiB (e.g. 640x480 rgb8) sent best effort need a larger DDS transport on '
    'BOTH the camera and this node: export FASTDDS_DEFAULT_PROFILES_FILE (and '
    'FASTRTPS_DEFAULT_PROFILES_FILE) to share/trt_classifier/config/fastdds_large_frames.xml, or '
    'CYCLONEDDS_URI to cyclonedds_large_frames.xml, or make the camera publish reliable')


def choose_reliability(mode, publisher_reliabilities):
    """Return ``(reliability, reason)`` for the image subscription.

    ``auto`` matches the publishers: reliable when every publisher is reliable (so camera-sized
    frames arrive without transport tuning), best effort when any publisher is best effort (a
    reliable subscription could not match it) or when there is no publisher yet (best effort is
    compatible with both; re-evaluated when publishers appear).
    """
    if mode == 'sensor_data':
        return 'best_effort', 'image_qos is sensor_data'
    if mode == 'reliable':
        return 'reliable', 'image_qos is reliable'
    if mode != 'auto':
        raise ValueError('image_qos must be one of %s, not %r' % (
            ', '.join(IMAGE_QOS_MODES), mode))
    pubs = list(publisher_reliabilities)
    if not pubs:
        return 'best_effort', 'no publisher yet (best effort matches any; re-checked later)'
    best_effort = pubs.count('best_effort')
    if best_effort:
        return 'best_effort', '%d of %d publishers are best effort' % (best_effort, len(pubs))
    return 'reliable', 'all %d publishers are reliable' % len(pubs)


def incompatibilities(sub_reliability, publishers):
    """Name each (publisher, subscription) pair that DDS will never connect.

    ``publishers`` is a list of ``(node_name, reliability)``. Only reliability can mismatch here:
    the node always subscribes volatile, which every durability offer satisfies.
    """
    problems = []
    if sub_reliability == 'reliable':
        for node_name, reliability in publishers:
            if reliability == 'best_effort':
                problems.append(
                    'publisher %s offers best effort but this node requests reliable: set '
                    'image_qos:=sensor_data or auto' % node_name)
    return problems


def silence_report(sub_reliability, publishers, seconds):
    """Return the one log line explaining why no frame arrived although publishers exist."""
    pubs = ', '.join('%s (%s)' % (n, r.replace('_', ' ')) for n, r in publishers)
    text = 'no image received for %.0f s although %d publisher(s) exist: %s; this node ' \
        'subscribes %s.' % (seconds, len(publishers), pubs, sub_reliability.replace('_', ' '))
    problems = incompatibilities(sub_reliability, publishers)
    if problems:
        return text + ' Incompatible QoS: ' + '; '.join(problems) + '.'
    if sub_reliability == 'best_effort':
        return text + ' Hint: ' + LARGE_FRAME_HINT + '.'
    return text + ' QoS is compatible: check that the publisher is actually sending.'
