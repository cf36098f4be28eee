# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Open-loop (camera-rate) benchmark logic without ROS: schedule, accounting, age, rate search.

A camera does not wait for the classifier: frames go out at a fixed rate, and each one ends in
exactly one of these places, counted where it happens:

- ``lost_before_node``: sent by the bench, never received by the node (DDS history, best effort);
- ``dropped``: received, then replaced in the node's drop-oldest slot by a newer frame (stale);
- ``rejected``: received, but not a decodable image;
- ``failed``: received, but inference failed (or no backend was loaded);
- ``results_lost``: answered by the node, but the result never reached the bench;
- ``answered``: the bench received the result.

The bench counts ``sent`` and ``answered``; the node counts the rest and reports its cumulative
counters in every result record (``counts``). The bench brackets each run with two
closed-loop marker frames, sent while nothing else is in flight, and subtracts their counters:
so the figures belong to this run only, whatever the node did before.
"""

import collections
import math
import time

from trt_classifier.stats import percentile, summarize

NODE_COUNTERS = ('received', 'done', 'dropped', 'rejected', 'failed')
MIN_PROBE_FRAMES = 5  # a rate-search probe sends at least this many frames, even at 1 Hz
# A run whose answers arrive later and later builds a queue somewhere. The fitted growth of the
# age over the run must stay below both of these to count as stable.
AGE_GROWTH_FLOOR_MS = 20.0


def send_at_rate(publish, rate_hz, count, should_stop=lambda: False, clock=time.monotonic,
                 sleep=time.sleep):
    """Call ``publish(i)`` for i in 0..count-1 at ``rate_hz`` on an absolute schedule.

    Frame i is due at ``t0 + i / rate_hz``: a late frame does not delay the following ones (no
    drift), and a publisher that falls behind publishes at once rather than in a burst of
    catch-up frames only up to its own speed. Return the clock times at which each publish
    started.
    """
    if rate_hz <= 0:
        raise ValueError('rate_hz must be > 0, not %r' % rate_hz)
    period = 1.0 / rate_hz
    times = []
    start = clock()
    for i in range(count):
        if should_stop():
            break
        delay = start + i * period - clock()
        if delay > 0:
            sleep(delay)
        times.append(clock())
        publish(i)
    return times


def achieved_rate(send_times):
    """Publish rate actually achieved: (n - 1) intervals over the time they took, in Hz."""
    if len(send_times) < 2 or send_times[-1] <= send_times[0]:
        return float('nan')
    return (len(send_times) - 1) / (send_times[-1] - send_times[0])


def counter_delta(before, after, markers=1):
    """Return the node's counters for the frames between two marker results.

    The end marker itself is excluded.

    ``before``/``after``: the ``counts`` of the result of the marker frame sent before and after
    the run; each is counted as received and done in ``after``. None where the node did not
    report counters (an older node).
    """
    if not before or not after:
        return None
    delta = collections.OrderedDict(
        (k, int(after.get(k, 0)) - int(before.get(k, 0))) for k in NODE_COUNTERS)
    delta['received'] -= markers
    delta['done'] -= markers
    return delta


def account(sent, answered, node):
    """Where each sent frame ended; ``node`` is :func:`counter_delta` (or None).

    Return an OrderedDict with the counts, ``drop_fraction`` (share of sent frames not answered)
    and ``balanced``: True when every sent frame is in exactly one place. ``unexplained`` is
    what the counts cannot place: frames still in flight, or received from another publisher
    on the same topic (negative ``lost_before_node``).
    """
    out = collections.OrderedDict([('sent', sent), ('answered', answered)])
    if node is None:
        out.update([('received', None), ('done', None), ('dropped', None), ('rejected', None),
                    ('failed', None), ('lost_before_node', None), ('results_lost', None),
                    ('unexplained', None), ('balanced', None)])
    else:
        out['received'] = node['received']
        for key in ('done', 'dropped', 'rejected', 'failed'):
            out[key] = node[key]
        out['lost_before_node'] = sent - node['received']
        out['results_lost'] = node['done'] - answered
        # sent = answered + results_lost + dropped + rejected + failed + lost_before_node
        # holds by construction when the node placed every frame it received:
        in_node = node['received'] - (node['done'] + node['dropped'] + node['rejected'] +
                                      node['failed'])
        out['unexplained'] = (abs(in_node) + max(0, -out['lost_before_node']) +
                              max(0, -out['results_lost']))
        out['balanced'] = out['unexplained'] == 0
    out['drop_fraction'] = (sent - answered) / float(sent) if sent else float('nan')
    return out


def linear_fit(xs, ys):
    """Least-squares slope and intercept of ys over xs; (nan, nan) with fewer than 2 points."""
    n = len(xs)
    if n < 2:
        return float('nan'), float('nan')
    mx, my = sum(xs) / float(n), sum(ys) / float(n)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return float('nan'), float('nan')
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return slope, my - slope * mx


def age_trend(times_s, ages_ms):
    """Slope of the answers' age over the run (ms per s) and whether the age grows.

    The age grows when the fitted growth over the run exceeds both the median age and
    AGE_GROWTH_FLOOR_MS: a queue is building (with the drop-oldest slot it must not).
    """
    slope, _intercept = linear_fit(times_s, ages_ms)
    span = (max(times_s) - min(times_s)) if times_s else 0.0
    growth = slope * span if slope == slope else float('nan')
    median = percentile(sorted(ages_ms), 50)
    growing = bool(growth == growth and growth > max(median, AGE_GROWTH_FLOOR_MS))
    return collections.OrderedDict([('slope_ms_per_s', slope), ('growth_ms', growth),
                                    ('growing', growing)])


def answer_rate(received_times):
    """Sustained answers per second: answers over the time between the first and last one."""
    if len(received_times) < 2:
        return float('nan')
    times = sorted(received_times)
    return (len(times) - 1) / (times[-1] - times[0]) if times[-1] > times[0] else float('nan')


def summarize_run(rate_hz, send_times, answers, node):
    """Return the open-loop record of one run.

    ``send_times``: clock time of each publish; ``answers``: one ``(sent_at, received_at,
    age_ms)`` per answered frame (clock seconds, ms); ``node``: :func:`counter_delta`.
    """
    sent = len(send_times)
    t0 = send_times[0] if send_times else 0.0
    ages = [a for _s, _r, a in answers]
    record = collections.OrderedDict([
        ('rate_hz', rate_hz), ('achieved_rate_hz', achieved_rate(send_times)),
        ('duration_s', (send_times[-1] - t0) if sent else 0.0)])
    record.update(account(sent, len(answers), node))
    record['answers_per_s'] = answer_rate([r for _s, r, _a in answers])
    record['age_ms'] = summarize(ages)
    record['age_trend'] = age_trend([s - t0 for s, _r, _a in answers], ages)
    return record


def sustained(record, threshold):
    """ros2_benchmark's test: frames missed <= ceil(sent * threshold), and the answers kept up.

    Also the publisher must have reached 90 % of the requested rate: otherwise the search would
    measure the bench, not the backend.
    """
    sent = record['sent']
    if not sent:
        return False
    missed = sent - record['answered']
    achieved = record['achieved_rate_hz']
    publisher_ok = achieved != achieved or achieved >= 0.9 * record['rate_hz']  # NaN: 1 frame
    return missed <= math.ceil(sent * threshold) and publisher_ok


def find_max_rate(trial, lower_hz, upper_hz, threshold, resolution=0.05, max_trials=10,
                  should_stop=lambda: False):
    """Highest rate that ``trial(rate) -> record`` sustains, by binary search in [lower, upper].

    In the spirit of ros2_benchmark's throughput search (binary search between a lower and an
    upper publisher frequency, a probe passing when its missed frames stay under a fraction of
    those sent). The upper bound is probed first, so a backend faster than the range says so at
    once; the search stops when the interval is narrower than ``resolution`` of its lower end
    (and 0.5 Hz), or after ``max_trials`` probes. Return an OrderedDict: ``max_rate_hz`` (0.0 if
    not even ``lower_hz`` is sustained), the final interval, what bounded the result and every
    probe.
    """
    probes = []

    def probe(rate):
        record = trial(rate)
        ok = sustained(record, threshold)
        probes.append(collections.OrderedDict([
            ('rate_hz', rate), ('sustained', ok), ('sent', record['sent']),
            ('answered', record['answered']), ('drop_fraction', record['drop_fraction']),
            ('achieved_rate_hz', record['achieved_rate_hz'])]))
        return ok

    lo, hi = 0.0, float(upper_hz)
    if should_stop():
        bound = 'interrupted'
    elif probe(hi):
        lo = hi
        bound = 'upper bound of the search (raise --max-rate)'
    elif not probe(float(lower_hz)):
        hi = float(lower_hz)
        bound = 'not even the lower bound is sustained'
    else:
        lo = float(lower_hz)
        while (len(probes) < max_trials and hi - lo > max(resolution * lo, 0.5) and
               not should_stop()):
            mid = (lo + hi) / 2.0
            if probe(mid):
                lo = mid
            else:
                hi = mid
        bound = 'drops above the threshold at %.1f Hz' % hi
    return collections.OrderedDict([
        ('max_rate_hz', lo), ('interval_hz', [lo, hi]), ('threshold', threshold),
        ('bounded_by', bound), ('probes', probes)])


def _fmt(spec, value):
    return '-' if value is None or value != value else spec % value


def describe(record):
    """One line: where the frames went, the answer rate and the age."""
    age = record['age_ms']
    trend = record['age_trend']
    parts = ['sent %d at %s Hz' % (record['sent'], _fmt('%.1f', record['achieved_rate_hz'])),
             'answered %d (%s/s)' % (record['answered'], _fmt('%.1f', record['answers_per_s']))]
    if record['balanced'] is None:
        parts.append('node counters unavailable')
    else:
        parts.append('dropped %d, rejected %d, failed %d, lost before node %d, results lost %d'
                     % (record['dropped'], record['rejected'], record['failed'],
                        record['lost_before_node'], record['results_lost']))
        if not record['balanced']:
            parts.append('%d frames unexplained' % record['unexplained'])
    parts.append('age median %s ms, p99 %s ms, trend %s ms/s%s' % (
        _fmt('%.1f', age['median_ms']), _fmt('%.1f', age['p99_ms']),
        _fmt('%+.2f', trend['slope_ms_per_s']), ' (GROWING)' if trend['growing'] else ''))
    return '; '.join(parts)
