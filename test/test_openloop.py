# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Open-loop benchmark: schedule, frame accounting, age trend and rate search on known inputs."""

import os

import pytest

from trt_classifier import openloop, openloop_report, report
from trt_classifier.cli import main as cli_main


class FakeClock(object):
    """A clock that advances only when slept on, or by ``cost`` per publish."""

    def __init__(self, cost=0.0):
        self.now, self.cost = 100.0, cost

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_send_at_rate_keeps_an_absolute_schedule():
    clock = FakeClock()
    sent = []
    times = openloop.send_at_rate(sent.append, 30.0, 31, clock=clock, sleep=clock.sleep)
    assert sent == list(range(31))
    assert times[0] == 100.0 and times[-1] == pytest.approx(101.0)
    assert openloop.achieved_rate(times) == pytest.approx(30.0)


def test_a_slow_publisher_publishes_late_frames_at_once_without_bursts():
    clock = FakeClock()

    def publish(i):
        clock.now += 0.05  # each publish takes 50 ms: the publisher can only do 20 Hz
    times = openloop.send_at_rate(publish, 30.0, 21, clock=clock, sleep=clock.sleep)
    assert openloop.achieved_rate(times) == pytest.approx(20.0)
    stopped = openloop.send_at_rate(lambda i: None, 30.0, 10, should_stop=lambda: True,
                                    clock=clock, sleep=clock.sleep)
    assert stopped == []


def node_counts(received, done, dropped=0, rejected=0, failed=0):
    return {'received': received, 'done': done, 'dropped': dropped, 'rejected': rejected,
            'failed': failed}


def test_every_frame_sent_is_answered_dropped_rejected_failed_or_lost():
    # before the run: the warm-up marker (10 frames so far, all done); after it: the end marker
    before = node_counts(10, 10)
    # the run: 103 sent, 3 lost before the node, 100 received: 62 done (2 results lost,
    # 60 answered), 30 dropped as stale, 5 rejected, 3 failed; + the end marker, received, done
    after = node_counts(10 + 100 + 1, 10 + 62 + 1, dropped=30, rejected=5, failed=3)
    node = openloop.counter_delta(before, after)
    assert node == {'received': 100, 'done': 62, 'dropped': 30, 'rejected': 5, 'failed': 3}
    record = openloop.account(103, 60, node)
    assert record['lost_before_node'] == 3 and record['results_lost'] == 2
    assert record['balanced'] is True and record['unexplained'] == 0
    places = ('answered', 'results_lost', 'dropped', 'rejected', 'failed', 'lost_before_node')
    assert sum(record[k] for k in places) == record['sent'] == 103
    assert record['drop_fraction'] == pytest.approx(43 / 103.0)


def test_frames_the_counts_cannot_place_are_flagged():
    # one frame still in the node when the end marker's counts were taken
    node = openloop.counter_delta(node_counts(0, 0), node_counts(51, 50))
    record = openloop.account(50, 49, node)
    assert record['balanced'] is False and record['unexplained'] == 1
    # another publisher on the topic: the node received more than the bench sent
    record = openloop.account(40, 40, openloop.counter_delta(node_counts(0, 0),
                                                             node_counts(46, 46)))
    assert record['lost_before_node'] == -5
    assert record['balanced'] is False and record['unexplained'] == 5
    # an older node without counters: the bench's own counts only
    record = openloop.account(40, 38, openloop.counter_delta(None, node_counts(1, 1)))
    assert record['balanced'] is None and record['received'] is None
    assert record['drop_fraction'] == pytest.approx(0.05)


def test_age_trend_flags_a_growing_queue_only():
    times = [i / 30.0 for i in range(300)]
    steady = [40.0 + (5.0 if i % 7 == 0 else 0.0) for i in range(300)]
    trend = openloop.age_trend(times, steady)
    assert abs(trend['slope_ms_per_s']) < 1.0 and trend['growing'] is False
    queue = [40.0 + 33.3 * t for t in times]  # one frame of backlog more every 30 ms
    trend = openloop.age_trend(times, queue)
    assert trend['slope_ms_per_s'] == pytest.approx(33.3)
    assert trend['growth_ms'] == pytest.approx(33.3 * times[-1])
    assert trend['growing'] is True


def test_summarize_run_on_known_inputs():
    send = [i * 0.1 for i in range(11)]  # 11 frames at 10 Hz
    answers = [(s, s + 0.05, 50.0 + i) for i, s in enumerate(send) if i % 2 == 0]  # 6 answered
    node = openloop.counter_delta(node_counts(1, 1), node_counts(13, 8, dropped=5))
    record = openloop.summarize_run(10.0, send, answers, node)
    assert record['achieved_rate_hz'] == pytest.approx(10.0)
    assert record['sent'] == 11 and record['answered'] == 6 and record['dropped'] == 5
    assert record['balanced'] is True
    assert record['answers_per_s'] == pytest.approx(5.0)  # 5 intervals in 1.0 s
    assert record['age_ms']['n'] == 6 and record['age_ms']['max_ms'] == 60.0
    assert 'dropped 5' in openloop.describe(record)


def capacity_trial(capacity_hz, publisher_hz=1e9, duration_s=3.0, calls=None):
    """Return a trial of a backend answering at most capacity_hz, publisher at publisher_hz."""
    def trial(rate):
        if calls is not None:
            calls.append(rate)
        achieved = min(rate, publisher_hz)
        sent = int(round(achieved * duration_s))
        answered = min(sent, int(capacity_hz * duration_s))
        return {'rate_hz': rate, 'achieved_rate_hz': achieved, 'sent': sent,
                'answered': answered, 'drop_fraction': (sent - answered) / float(sent)}
    return trial


def test_rate_search_finds_the_capacity_within_its_resolution():
    calls = []
    found = openloop.find_max_rate(capacity_trial(37.0, calls=calls), 1.0, 200.0, 0.02)
    assert calls[:2] == [200.0, 1.0]  # the upper bound first, then the lower
    assert 37.0 * 0.95 <= found['max_rate_hz'] <= 37.0 * 1.02 + 0.01
    lo, hi = found['interval_hz']
    assert hi - lo <= max(0.05 * lo, 0.5) or len(found['probes']) == 10
    assert all(p['sustained'] == (p['rate_hz'] <= 37.0 * 1.02) for p in found['probes'])
    assert found['bounded_by'].startswith('drops above the threshold')


def test_rate_search_bounds():
    fast = openloop.find_max_rate(capacity_trial(1000.0), 1.0, 200.0, 0.02)
    assert fast['max_rate_hz'] == 200.0 and len(fast['probes']) == 1
    assert 'upper bound' in fast['bounded_by']
    slow = openloop.find_max_rate(capacity_trial(0.5), 1.0, 200.0, 0.02)
    assert slow['max_rate_hz'] == 0.0 and 'lower bound' in slow['bounded_by']
    # a publisher that tops out at 50 Hz: rates it cannot reach do not count as sustained
    limited = openloop.find_max_rate(capacity_trial(1000.0, publisher_hz=50.0), 1.0, 200.0, 0.02)
    assert 50.0 * 0.9 <= limited['max_rate_hz'] <= 50.0 / 0.9
    one = {'rate_hz': 1.0, 'achieved_rate_hz': float('nan'), 'sent': 1, 'answered': 1}
    assert openloop.sustained(one, 0.02)  # a single frame has no rate to fall short of
    stopped = openloop.find_max_rate(capacity_trial(37.0), 1.0, 200.0, 0.02,
                                     should_stop=lambda: True)
    assert stopped['probes'] == [] and stopped['max_rate_hz'] == 0.0


def open_loop_result():
    runs = []
    for backend, inference, age, answered, dropped, top in (
            ('chainer', 25.0, 45.0, 250, 50, 37.5), ('onnxruntime', 3.0, 8.0, 300, 0, 180.0)):
        run = report.Run('squeezenet1_1', backend)
        send = [i / 30.0 for i in range(300)]
        for i in range(answered):
            result = {'index': 1, 'label': 'l1', 'score': 0.5, 'inference_ms': inference,
                      'preprocess_ms': 1.0, 'total_ms': inference + 1.0, 'age_ms': age - 1}
            run.add(i % 4, result, age, extra=[('sent_s', send[i]), ('age_ms', age),
                                               ('node_age_ms', age - 1)])
        answers = [(send[i], send[i] + age / 1000.0, age) for i in range(answered)]
        node = openloop.counter_delta(node_counts(1, 1),
                                      node_counts(302, 1 + answered + 1, dropped=dropped))
        run.open_loop = openloop.summarize_run(30.0, send, answers, node)
        run.rate_search = openloop.find_max_rate(capacity_trial(top), 1.0, 200.0, 0.02)
        run.resources = {'processes': {'classifier': {'cpu_percent': 95.0, 'peak_rss_mb': 180.0},
                                       'bench': {'cpu_percent': 20.0, 'peak_rss_mb': 90.0}},
                         'machine': {'cpu_percent': 70.0, 'cores': 2}, 'gpu': None,
                         'energy': None}
        runs.append(run)
    protocol = {'iterations': 100, 'warmup': 1, 'precision': 'fp32', 'rate_hz': 30.0,
                'frames_per_run': 300, 'rate_search': {'drop_threshold': 0.02}}
    return report.build(runs, protocol, {'cpu': 'test cpu', 'host': 'h', 'versions': {}})


def test_open_loop_report_tables_files_and_comparison(tmp_path, capsys):
    result = open_loop_result()
    chainer = result['runs'][0]
    assert chainer['open_loop']['dropped'] == 50 and chainer['open_loop']['balanced'] is True
    assert chainer['stats']['age_ms']['median_ms'] == 45.0
    text = report.render(result)
    assert text.splitlines()[0].startswith('Inference latency of the answered frames, mean, '
                                           'open loop at 30 Hz (300 frames')
    assert 'Max rate (unanswered <= 2%)' in text
    table = report.study_table(result)
    assert 'Chainer 3' in table.splitlines()[2] and 'ONNX Runtime >= ' not in table
    line = [ln for ln in openloop_report.open_loop_table(result).splitlines()
            if 'chainer' in ln][0]
    cells = [c.strip() for c in line.split('|')[1:-1]]
    assert cells[2:8] == ['30 / 30.0', '300', '300', '250', '30.0', '50']
    assert cells[-6:] == ['95%', '20%', '70%', '180', '-', '-']
    paths = report.save(result, str(tmp_path))
    names = [os.path.basename(p) for p in paths]
    assert names == ['bench.json', 'bench.csv', 'bench.png', 'runs.csv', 'openloop.png']
    rows = open(paths[3]).read().splitlines()
    assert rows[0].startswith('model,backend,error,rate_hz,achieved_rate_hz')
    assert rows[0].endswith(',cpu_node_percent,cpu_bench_percent,cpu_machine_percent,'
                            'peak_rss_mb,gpu_util_percent,mj_per_answer')
    assert rows[1].startswith('squeezenet1_1,chainer,,30.0,')
    assert rows[1].endswith(',95.0,20.0,70.0,180.0,,')  # same columns as the header
    assert len({len(r.split(',')) for r in rows}) == 1
    loaded = report.load(paths[0])
    compared = report.compare([loaded, loaded], ['a', 'b'])
    assert 'Open loop and resources (answers/s' in compared
    assert '30.0/s at 30 Hz, p99 45 ms, 17% unanswered' in compared
    assert cli_main(['report', paths[0]]) == 0
    assert 'lost before node' in capsys.readouterr().out


def test_cli_rejects_a_non_positive_rate(capsys):
    assert cli_main(['bench', '--rate', '0', '--backends', 'null']) == 2
    assert '--rate must be > 0 Hz' in capsys.readouterr().err


def test_side_by_side_namespaces_share_one_image_topic():
    from trt_classifier.procs import side_by_side
    assert side_by_side('', 'chainer') == ([('', 'chainer')], '/image')
    assert side_by_side('', 'chainer', 'chainer, onnxruntime') == (
        [('/chainer', 'chainer'), ('/onnxruntime', 'onnxruntime')], '/image')
    assert side_by_side('/robot/', 'null', 'null,tensorrt') == (
        [('/robot/null', 'null'), ('/robot/tensorrt', 'tensorrt')], '/robot/image')
