# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Image QoS choice and the explanation logged when no frame arrives."""

import pytest

from trt_classifier.qos_policy import (
    choose_reliability, IMAGE_QOS_MODES, incompatibilities, LARGE_FRAME_HINT, silence_report)


@pytest.mark.parametrize('publishers', [[], ['reliable'], ['best_effort', 'reliable']])
def test_fixed_modes_ignore_publishers(publishers):
    assert choose_reliability('sensor_data', publishers)[0] == 'best_effort'
    assert choose_reliability('reliable', publishers)[0] == 'reliable'
    assert 'sensor_data' in choose_reliability('sensor_data', publishers)[1]
    assert 'reliable' in choose_reliability('reliable', publishers)[1]


def test_auto_without_publishers_is_best_effort():
    reliability, reason = choose_reliability('auto', [])
    assert reliability == 'best_effort' and 'no publisher' in reason


def test_auto_all_reliable_is_reliable():
    reliability, reason = choose_reliability('auto', iter(['reliable', 'reliable']))
    assert reliability == 'reliable' and 'all 2 publishers are reliable' == reason


@pytest.mark.parametrize('publishers,count', [
    (['best_effort'], '1 of 1'), (['reliable', 'best_effort', 'best_effort'], '2 of 3')])
def test_auto_any_best_effort_is_best_effort(publishers, count):
    reliability, reason = choose_reliability('auto', publishers)
    assert reliability == 'best_effort' and reason.startswith(count) and 'best effort' in reason


def test_unknown_mode_lists_the_modes():
    with pytest.raises(ValueError) as info:
        choose_reliability('fast', [])
    assert "'fast'" in str(info.value)
    for mode in IMAGE_QOS_MODES:
        assert mode in str(info.value)


def test_incompatibilities():
    pubs = [('/cam_a', 'best_effort'), ('/cam_b', 'reliable'), ('/cam_c', 'best_effort')]
    problems = incompatibilities('reliable', pubs)
    assert len(problems) == 2
    assert '/cam_a' in problems[0] and '/cam_c' in problems[1]
    assert all('image_qos:=sensor_data' in p for p in problems)
    assert incompatibilities('best_effort', pubs) == []
    assert incompatibilities('reliable', [('/cam_b', 'reliable')]) == []


def test_silence_report_incompatible():
    pubs = [('/usb_cam', 'best_effort'), ('/sim_cam', 'reliable')]
    text = silence_report('reliable', pubs, 5.0)
    assert 'no image received for 5 s' in text and '2 publisher(s)' in text
    assert '/usb_cam (best effort)' in text and '/sim_cam (reliable)' in text
    assert 'subscribes reliable' in text
    assert 'Incompatible QoS' in text and 'image_qos:=sensor_data' in text
    assert LARGE_FRAME_HINT not in text


def test_silence_report_best_effort_gives_the_profile_hint():
    text = silence_report('best_effort', [('/camera', 'reliable')], 10.4)
    assert 'no image received for 10 s' in text and '/camera (reliable)' in text
    assert 'subscribes best effort' in text
    assert 'Hint: ' + LARGE_FRAME_HINT in text
    assert 'FASTDDS_DEFAULT_PROFILES_FILE' in text and 'CYCLONEDDS_URI' in text
    assert 'Incompatible' not in text


def test_silence_report_compatible_reliable():
    text = silence_report('reliable', [('/camera', 'reliable')], 3)
    assert '/camera (reliable)' in text and 'QoS is compatible' in text
    assert 'Hint' not in text and 'Incompatible' not in text
