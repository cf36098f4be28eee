# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""The benchmark: report maths on known samples, and a real run over ROS 2 processes."""

import glob
import json
import os
import subprocess
import sys

import pytest

from trt_classifier import env_info, report
from trt_classifier.bench_node import succeeded
from trt_classifier.bench_runner import check_request
from trt_classifier.cli import main as cli_main
from trt_classifier.errors import BackendUnavailable, ClassifierError


def _result(model, backend, frame, inference, roundtrip, top1):
    return {'index': top1, 'label': 'l%d' % top1, 'score': 0.5, 'inference_ms': inference,
            'preprocess_ms': 1.0, 'total_ms': inference + 1.0, 'frame_id': str(frame)}


def run_bench(cache_dir, out_dir, *args):
    """Run ``trt-classifier bench`` (make bench's runner) and return its log; it must exit 0."""
    proc = subprocess.run(
        [sys.executable, '-m', 'trt_classifier.cli', '--cache-dir', cache_dir, 'bench',
         '--output-dir', str(out_dir)] + list(args),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=240)
    log = proc.stdout.decode('utf-8', 'replace')
    assert proc.returncode == 0, log
    return log


def make_report():
    runs = []
    for backend, ms, top1s in (('chainer', [10.0, 20.0, 30.0], [1, 2, 3]),
                               ('onnxruntime', [2.0, 4.0, 6.0], [1, 2, 4]),
                               ('null', [0.0, 0.0, 0.0], [0, 0, 0])):
        run = report.Run('squeezenet1_1', backend)
        for frame, (value, top1) in enumerate(zip(ms, top1s)):
            run.add(frame, _result('squeezenet1_1', backend, frame, value, value + 1.5, top1),
                    value + 1.5)
        runs.append(run)
    runs.append(report.Run('squeezenet1_1', 'tensorrt', error='unavailable: no tensorrt'))
    return report.build(runs, {'iterations': 3, 'warmup': 1, 'precision': 'fp32'},
                        {'cpu': 'test cpu', 'host': 'h', 'versions': {}})


def test_statistics_speedup_and_agreement_on_known_samples():
    result = make_report()
    chainer = result['runs'][0]['stats']
    assert chainer['inference_ms']['mean_ms'] == 20.0
    assert chainer['inference_ms']['median_ms'] == 20.0
    assert chainer['inference_ms']['min_ms'] == 10.0 and chainer['inference_ms']['max_ms'] == 30.0
    assert chainer['inference_ms']['fps'] == 50.0
    assert abs(chainer['overhead_ms']['mean_ms'] - 1.5) < 1e-9
    assert result['top1_agreement_vs_chainer'] == {'squeezenet1_1/onnxruntime': 2.0 / 3.0}
    table = report.study_table(result)
    lines = table.splitlines()
    assert lines[0].split('|')[1:-1] == [' Model         ', ' Chainer  ', ' TensorRT ',
                                         ' ONNX Runtime ', ' Speedup vs Chainer ']
    assert '| squeezenet1_1 | 20.00 ms | n/a      | 4.00 ms      | ONNX Runtime 5.00x |' in table
    text = report.render(result)
    assert 'tensorrt: unavailable: no tensorrt' in text
    assert '67%' in report.stats_table(result)


def test_tensorrt_column_names_the_runtime_the_run_recorded():
    result = make_report()
    result['environment']['tensorrt_runtime'] = 'TensorRT-RTX 1.7.1'
    assert report.study_table(result).splitlines()[0].split('|')[3] == ' TensorRT-RTX 1.7.1 '
    result['environment']['tensorrt_runtime'] = 'TensorRT 8.2.1'
    assert ' TensorRT 8.2.1 ' in report.study_table(result).splitlines()[0]


@pytest.mark.parametrize('args,message', [
    ((['chainer', 'bogus'], ['vgg16']),
     "unknown backend 'bogus'; valid backends: chainer, null, onnxruntime, tensorrt"),
    ((['null'], ['nosuch']), "unknown model 'nosuch'; valid models: efficientnet_lite0, "
                             'resnet101, squeezenet1_1, vgg16'),
    ((['null'], ['vgg16'], 'int8'), "unknown precision 'int8'; valid precisions: fp32, fp16"),
    ((['null'], ['vgg16'], 'fp32', 'tpu'), "device must be cpu, gpu or gpu:N, not 'tpu'"),
    ((['null'], ['vgg16'], 'fp32', 'cpu', '1', 'x'),
     "iterations must be a whole number >= 1, not 'x'"),
    ((['null'], ['vgg16'], 'fp32', 'cpu', 0), 'warmup must be a whole number >= 1, not 0'),
    (([], ['vgg16']), 'no backend given; valid backends: chainer, null'),
])
def test_bench_request_is_checked_before_anything_starts(args, message):
    with pytest.raises(ClassifierError) as info:
        check_request(*args)
    assert str(info.value).startswith(message)


def test_bench_cli_refuses_a_bad_model_at_once(capsys):
    assert cli_main(['bench', '--backends', 'null', '--models', 'nosuch']) == 2
    assert "unknown model 'nosuch'" in capsys.readouterr().err


def test_bench_succeeds_with_a_model_backend_or_with_null_alone():
    def run(backend, samples):
        made = report.Run('vgg16', backend)
        made.samples = [{}] * samples
        return made
    assert succeeded([run('chainer', 3), run('null', 3)], ['chainer', 'null'])
    assert not succeeded([run('chainer', 0), run('null', 3)], ['chainer', 'null'])
    assert succeeded([run('null', 3)], ['null'])  # the harness overhead is a valid run
    assert not succeeded([run('null', 0)], ['null'])


def test_report_headline_says_what_was_measured_and_run():
    result = make_report()
    assert report.headline(result).startswith(
        'Inference latency, mean of 3 timed runs after 1 untimed warm-up (ms, batch 1, fp32)')
    result['protocol'].update(iterations=300, interrupted=True, precision='fp16')
    for run in result['runs']:
        run['info'] = {'precision': 'fp32'}
    text = report.headline(result)
    assert 'mean of 3 timed runs (300 planned; interrupted)' in text, text
    assert text.endswith('(ms, batch 1, fp32)'), text  # CPU backends ran fp32, not the fp16 asked
    result['runs'][1]['info'] = {'precision': 'fp16'}
    assert report.headline(result).endswith('fp16 (onnxruntime), fp32 (chainer, null))')


def test_no_speedup_column_without_chainer():
    result = make_report()
    result['runs'] = [r for r in result['runs'] if r['backend'] != 'chainer']
    table = report.study_table(result)
    assert 'Speedup' not in table and '| squeezenet1_1 | n/a      | 4.00 ms      |' in table


def test_environment_names_rclpy_and_the_distro_of_the_wheels():
    env = env_info.environment()
    assert env['versions']['rclpy'] not in (None, 'unknown')
    wheel = env_info.dist_version('ros-rclpy')
    if wheel and not os.environ.get('ROS_DISTRO'):
        distro = env_info.RCLPY_MAJOR_DISTRO[wheel.split('.')[0]]
        assert env['ros_distro'] == '%s (PyPI ros-rclpy %s)' % (distro, wheel)
        assert distro == ('jazzy' if env_info.dist_version('ros-jazzy-rclpy') else 'kilted')


def test_save_load_and_compare(tmp_path):
    result = make_report()
    paths = report.save(result, str(tmp_path))
    assert [os.path.basename(p) for p in paths] == ['bench.json', 'bench.csv', 'bench.png']
    loaded = report.load(paths[0])
    assert loaded['runs'][1]['backend'] == 'onnxruntime'
    text = report.compare([loaded, loaded], ['a', 'b'])
    assert '| squeezenet1_1 | onnxruntime | 4.00  | 4.00  |' in text
    bad = tmp_path / 'other.json'
    bad.write_text('{"schema": "something else"}')
    with pytest.raises(ClassifierError, match='not a trt_classifier benchmark result'):
        report.load(str(bad))


def test_cli_report_and_models(tmp_path, capsys):
    paths = report.save(make_report(), str(tmp_path))
    assert cli_main(['report', paths[0]]) == 0
    assert 'Speedup vs Chainer' in capsys.readouterr().out
    assert cli_main(['models']) == 0
    out = capsys.readouterr().out
    assert 'efficientnet_lite0' in out and '138,357,544' in out
    assert cli_main(['env']) == 0
    out = capsys.readouterr().out
    assert 'backends available here: chainer, null, onnxruntime' in out
    assert 'unavailable: tensorrt: backend tensorrt ' in out  # with the reason
    assert 'tensorrt runtime: ' in out


@pytest.mark.ros
@pytest.mark.timeout(600)
def test_bench_end_to_end_over_ros(tmp_path, cache_dir):
    """Run make bench's runner: real classifier nodes per backend, closed loop, files."""
    out_dir = tmp_path / 'results'
    log = run_bench(cache_dir, out_dir, '--backends', 'chainer,onnxruntime,tensorrt,null',
                    '--models', 'squeezenet1_1', '--iterations', '5')
    assert 'Speedup vs Chainer' in log and 'ONNX Runtime' in log
    assert 'tensorrt: unavailable' in log
    files = glob.glob(str(out_dir / '*' / 'bench.*'))
    assert sorted(os.path.basename(f) for f in files) == ['bench.csv', 'bench.json', 'bench.png']
    assert glob.glob(str(out_dir / '*' / 'runs.csv'))  # resources of every run
    with open([f for f in files if f.endswith('.json')][0]) as f:
        result = json.load(f)
    assert result['schema'] == report.SCHEMA
    assert result['protocol']['iterations'] == 5 and result['protocol']['warmup'] == 1
    by_backend = {r['backend']: r for r in result['runs']}
    assert set(by_backend) == {'chainer', 'onnxruntime', 'tensorrt', 'null'}
    for name in ('chainer', 'onnxruntime', 'null'):
        run = by_backend[name]
        assert len(run['samples']) == 5, run['error']
        assert all(s['roundtrip_ms'] >= s['inference_ms'] > 0 for s in run['samples'])
    assert by_backend['tensorrt']['error'].startswith('unavailable')
    from trt_classifier.backends import check_available
    try:
        check_available('tensorrt')
    except BackendUnavailable as exc:  # the bench names the reason the node would give
        assert by_backend['tensorrt']['error'] == 'unavailable: %s' % str(exc).replace(';', ',')
    # same random weights (seed 0) on both backends: the same class for every frame
    assert result['top1_agreement_vs_chainer']['squeezenet1_1/onnxruntime'] == 1.0
    assert result['environment']['versions']['chainer'] == '7.8.1'


@pytest.mark.ros
@pytest.mark.timeout(300)
def test_interrupted_bench_reports_what_it_measured(tmp_path, cache_dir):
    import signal
    import time
    from trt_classifier.procs import NodeProcess, ros_args
    out_dir = tmp_path / 'results'
    node = NodeProcess('trt_classifier.classifier_node', ros_args('/null', {
        'backend': 'null', 'image_qos': 'reliable', 'cache_dir': cache_dir}))
    bench = NodeProcess('trt_classifier.bench_node', ros_args(None, {
        'backends': 'null', 'models': 'squeezenet1_1', 'iterations': 1000000,
        'output_dir': str(out_dir)}))
    try:
        deadline = time.monotonic() + 120
        while '20/1000000' not in bench.output() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert '20/1000000' in bench.output(), bench.output()
        code, seconds = bench.stop(signal.SIGINT, timeout=40)
    finally:
        bench.cleanup()
        node.cleanup()
    files = glob.glob(str(out_dir / '*' / 'bench.json'))
    assert files, 'no report after SIGINT (exit %s after %.1f s)' % (code, seconds)
    with open(files[0]) as f:
        result = json.load(f)
    assert result['protocol']['interrupted'] is True
    run = result['runs'][0]
    assert run['error'].startswith('interrupted after') and len(run['samples']) >= 20


@pytest.mark.ros
@pytest.mark.timeout(300)
def test_a_model_that_cannot_load_is_reported_and_the_run_goes_on(tmp_path, cache_dir):
    """weights=pretrained: VGG16 has none here (fails at once), EfficientNet-Lite0 has."""
    out_dir = tmp_path / 'results'
    run_bench(cache_dir, out_dir, '--backends', 'onnxruntime', '--models',
              'vgg16,efficientnet_lite0', '--weights', 'pretrained', '--iterations', '3')
    with open(glob.glob(str(out_dir / '*' / 'bench.json'))[0]) as f:
        runs = {r['model']: r for r in json.load(f)['runs']}
    assert runs['vgg16']['error'].startswith('requested onnxruntime/vgg16'), runs['vgg16']
    assert 'no pretrained weights' in runs['vgg16']['error']
    assert len(runs['efficientnet_lite0']['samples']) == 3


def test_sequential_is_chosen_on_small_memory_and_can_be_forced():
    from trt_classifier.bench_runner import choose_sequential
    assert choose_sequential('auto', mem_total_mb=4044.0)[0] is True  # a 4 GB Jetson Nano
    assert 'under 8 GB' in choose_sequential('auto', mem_total_mb=4044.0)[1]
    assert choose_sequential('auto', mem_total_mb=25300.0)[0] is False
    assert choose_sequential('true', mem_total_mb=25300.0) == (True, 'asked for')
    assert choose_sequential(False, mem_total_mb=4044.0) == (False, 'asked for')
    with pytest.raises(ClassifierError, match='auto, true or false'):
        choose_sequential('sometimes')


def test_memory_record_and_table():
    loaded = {'model': 'vgg16', 'steps': {'load_peak_rss_mb': 840.6, 'export_peak_rss_mb': 860.0}}
    record = report.memory_record({'peak_rss_mb': '912.3', 'rss_mb': 'nan'}, loaded)
    assert record == {'process_peak_rss_mb': 912.3, 'rss_mb': None, 'load_peak_rss_mb': 840.6,
                      'export_peak_rss_mb': 860.0}
    result = make_report()
    assert report.memory_table(result) == ''  # no memory recorded: no table
    result['runs'][1]['memory'] = record
    result['protocol']['sequential'] = True
    table = report.memory_table(result)
    assert '| squeezenet1_1 | onnxruntime | 912          | -        | 841       | 860         |' \
        in table, table
    assert 'one classifier node at a time' in report.render(result)


@pytest.mark.ros
@pytest.mark.timeout(600)
def test_sequential_bench_runs_one_classifier_at_a_time(tmp_path, cache_dir):
    """--sequential true: each backend's node starts when the previous one was stopped."""
    out_dir = tmp_path / 'results'
    log = run_bench(cache_dir, out_dir, '--backends', 'null,chainer', '--models',
                    'squeezenet1_1', '--iterations', '3', '--sequential', 'true')
    assert 'sequential: one classifier node at a time (asked for)' in log
    assert 'sequential: stopping the classifier node in /null' in log
    assert 'sequential: stopping the classifier node in /chainer' in log
    assert log.index('stopping the classifier node in /null') < log.index(
        'chainer/squeezenet1_1: loading')
    assert 'Peak memory, RSS in MB (one classifier node at a time' in log
    with open(glob.glob(str(out_dir / '*' / 'bench.json'))[0]) as f:
        result = json.load(f)
    assert result['protocol']['sequential'] is True
    for run in result['runs']:
        assert len(run['samples']) == 3, run['error']
        assert run['memory']['process_peak_rss_mb'] >= run['memory']['rss_mb'] > 20
        assert run['memory']['load_peak_rss_mb'] > 0


@pytest.mark.ros
@pytest.mark.timeout(600)
def test_open_loop_bench_over_ros_accounts_for_every_frame(tmp_path, cache_dir):
    """Camera rate, open loop: Chainer cannot keep up with 60 Hz on 2 cores, null can."""
    out_dir = tmp_path / 'results'
    log = run_bench(cache_dir, out_dir, '--backends', 'chainer,null', '--models',
                    'squeezenet1_1', '--weights', 'random', '--rate', '60', '--duration', '2',
                    '--find-max-rate', '--min-rate', '5', '--max-rate', '40',
                    '--search-duration', '1')
    assert 'open loop at 60 Hz (120 frames' in log and 'lost before node' in log
    files = glob.glob(str(out_dir / '*' / '*'))
    assert {'bench.json', 'runs.csv', 'openloop.png'} <= {os.path.basename(f) for f in files}
    with open([f for f in files if f.endswith('.json')][0]) as f:
        result = json.load(f)
    assert result['protocol']['rate_hz'] == 60.0 and result['protocol']['frames_per_run'] == 120
    for run in result['runs']:
        ol = run['open_loop']
        assert ol['sent'] == 120, run['error']
        # each frame in one place, counted where it happened (bench: sent, answered; node: rest)
        assert ol['balanced'] is True, (run['backend'], ol)
        assert (ol['answered'] + ol['results_lost'] + ol['dropped'] + ol['rejected'] +
                ol['failed'] + ol['lost_before_node']) == ol['sent']
        assert len(run['samples']) == ol['answered'] == run['stats']['age_ms']['n'] > 0
        assert all(s['age_ms'] >= s['inference_ms'] for s in run['samples'])
        res = run['resources']  # sampled from /proc while the run went on
        node = res['processes']['classifier']
        assert node['pid'] != res['processes']['bench']['pid']
        assert node['cpu_s'] > 0 and node['peak_rss_mb'] > 50
        assert res['processes']['bench']['cpu_s'] > 0
        assert 0 < res['machine']['cpu_percent'] <= 100 and res['machine']['cores'] >= 1
        # the trend is measured, not asserted (a loaded machine may slow down mid-run)
        assert ol['age_trend']['slope_ms_per_s'] == ol['age_trend']['slope_ms_per_s']
        search = run['rate_search']
        assert search['probes'][0]['rate_hz'] == 40.0  # the upper bound first
        assert all(p['rate_hz'] <= search['max_rate_hz'] for p in search['probes']
                   if p['sustained'])
    by_backend = {r['backend']: r for r in result['runs']}
    assert by_backend['null']['rate_search']['max_rate_hz'] >= 5.0
    # Chainer's SqueezeNet takes over 20 ms a frame on the CPUs we have: 60 Hz drops frames
    chainer = by_backend['chainer']['open_loop']
    assert chainer['dropped'] > 0 and chainer['answers_per_s'] < 60.0, chainer


def test_both_launchers_give_the_bench_node_the_same_parameters():
    """One run description: the CLI's defaults and the launch file's strings agree."""
    from trt_classifier import schema
    from trt_classifier.bench_runner import bench_node_params
    from trt_classifier.cli import build_parser
    from trt_classifier.launch_support import launch_default
    args = build_parser().parse_args(['--cache-dir', '/c', 'bench'])
    cli_run = {arg.name: getattr(args, arg.name) for arg in schema.BENCH_RUN
               if arg.name != 'cache_dir'}
    launch_run = {arg.name: launch_default(arg.default) for arg in schema.BENCH_RUN}
    both = ['chainer', 'null'], ['squeezenet1_1'], '', False
    from_cli = bench_node_params(dict(cli_run, cache_dir='/c'), *both)
    from_launch = bench_node_params(launch_run, *both)
    assert from_cli == from_launch
    # typed as the node declares them (a string for an int would fail its declaration)
    for name, value in from_cli.items():
        assert type(value) is type(schema.BENCH_DEFAULTS[name]), name
    assert from_cli['duration_s'] == 10.0 and from_cli['rate_hz'] == 0.0
    assert set(from_cli) <= set(schema.BENCH_DEFAULTS)
