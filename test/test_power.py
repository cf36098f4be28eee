# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Jetson power rails and GPU utilisation, read from sysfs trees rebuilt in the test.

The trees follow the two layouts NVIDIA's Jetson Linux guides document for the INA3221 power
monitors: the ``ina3221x`` IIO driver of JetPack 4 (L4T 32: Nano, TX2, Xavier) and the
``ina3221`` hwmon driver of JetPack 5/6 (L4T 35/36: Orin). Not executed on a Jetson.
"""

import os
import time

import pytest

from trt_classifier import power


def write_tree(root, files):
    for path, text in files.items():
        full = os.path.join(str(root), path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, 'w') as f:
            f.write('%s\n' % text)


NANO_IIO = 'sys/bus/i2c/drivers/ina3221x/6-0040/iio:device0/'
NANO = {  # JetPack 4 (L4T 32), Jetson Nano: one INA3221, power in mW per rail
    NANO_IIO + 'rail_name_0': 'POM_5V_IN', NANO_IIO + 'in_power0_input': 4812,
    NANO_IIO + 'in_current0_input': 968, NANO_IIO + 'in_voltage0_input': 4968,
    NANO_IIO + 'rail_name_1': 'POM_5V_GPU', NANO_IIO + 'in_power1_input': 1234,
    NANO_IIO + 'in_current1_input': 248, NANO_IIO + 'in_voltage1_input': 4976,
    NANO_IIO + 'rail_name_2': 'POM_5V_CPU', NANO_IIO + 'in_power2_input': 1601,
    NANO_IIO + 'in_current2_input': 322, NANO_IIO + 'in_voltage2_input': 4968,
}
XAVIER = {  # JetPack 4, AGX Xavier: two INA3221 on bus 1, no module-input rail
    'sys/bus/i2c/drivers/ina3221x/1-0040/iio:device0/rail_name_0': 'GPU',
    'sys/bus/i2c/drivers/ina3221x/1-0040/iio:device0/in_power0_input': 3000,
    'sys/bus/i2c/drivers/ina3221x/1-0040/iio:device0/rail_name_1': 'CPU',
    'sys/bus/i2c/drivers/ina3221x/1-0040/iio:device0/in_power1_input': 2000,
    'sys/bus/i2c/drivers/ina3221x/1-0041/iio:device1/rail_name_0': 'CV',
    'sys/bus/i2c/drivers/ina3221x/1-0041/iio:device1/in_power0_input': 500,
}
ORIN_HWMON = 'sys/bus/i2c/drivers/ina3221/1-0040/hwmon/hwmon3/'
ORIN = {  # JetPack 5/6 (L4T 35/36), Orin Nano/NX: hwmon, bus voltage mV and current mA
    ORIN_HWMON + 'in1_label': 'VDD_IN', ORIN_HWMON + 'in1_input': 5008,
    ORIN_HWMON + 'curr1_input': 1200,
    ORIN_HWMON + 'in2_label': 'VDD_CPU_GPU_CV', ORIN_HWMON + 'in2_input': 5000,
    ORIN_HWMON + 'curr2_input': 400,
    ORIN_HWMON + 'in3_label': 'VDD_SOC', ORIN_HWMON + 'in3_input': 5000,
    ORIN_HWMON + 'curr3_input': 360,
    # the shunt-voltage sum channel: a label and a uV reading, no current of its own
    ORIN_HWMON + 'in7_label': 'sum of shunt voltages', ORIN_HWMON + 'in7_input': 1234,
}


def test_jetpack4_nano_rails(tmp_path):
    write_tree(tmp_path, NANO)
    rails = power.find_rails(str(tmp_path))
    assert [r.name for r in rails] == ['POM_5V_IN', 'POM_5V_GPU', 'POM_5V_CPU']
    assert [r.read_mw() for r in rails] == [4812.0, 1234.0, 1601.0]
    assert power.input_rail(rails).name == 'POM_5V_IN'


def test_jetpack4_xavier_without_an_input_rail_is_summed(tmp_path):
    write_tree(tmp_path, XAVIER)
    rails = power.find_rails(str(tmp_path))
    assert sorted(r.name for r in rails) == ['CPU', 'CV', 'GPU']
    assert power.input_rail(rails) is None
    sampler = power.DeviceSampler(interval_s=0.05, root=str(tmp_path)).start()
    time.sleep(0.2)
    energy = sampler.stop(answers=10)['energy']
    assert energy['rail'].startswith('sum of ') and energy['mean_mw'] == pytest.approx(5500.0)


def test_jetpack5_orin_hwmon_rails(tmp_path):
    write_tree(tmp_path, ORIN)
    rails = power.find_rails(str(tmp_path))
    assert [r.name for r in rails] == ['VDD_IN', 'VDD_CPU_GPU_CV', 'VDD_SOC']
    assert rails[0].read_mw() == pytest.approx(5008 * 1200 / 1000.0)  # mV * mA
    assert power.input_rail(rails).name == 'VDD_IN'


def test_unreadable_rails_and_other_machines_give_no_power(tmp_path):
    tree = dict(NANO)
    del tree[NANO_IIO + 'in_power1_input']  # e.g. root-only on some images
    write_tree(tmp_path, tree)
    assert [r.name for r in power.find_rails(str(tmp_path))] == ['POM_5V_IN', 'POM_5V_CPU']
    assert power.find_rails(str(tmp_path / 'no-such-root')) == []


def test_energy_per_answered_frame(tmp_path):
    write_tree(tmp_path, ORIN)
    sampler = power.DeviceSampler(interval_s=0.05, root=str(tmp_path)).start()
    time.sleep(0.3)
    result = sampler.stop(answers=25)
    energy = result['energy']
    watts = 5008 * 1200 / 1e6
    seconds = energy['joules'] / watts
    assert energy['rail'] == 'VDD_IN' and energy['samples'] >= 3
    assert energy['mean_mw'] == pytest.approx(watts * 1000.0)
    assert 0.25 < seconds < 5.0
    assert energy['mj_per_answer'] == pytest.approx(1000.0 * energy['joules'] / 25)
    assert result['gpu'] is None  # a Jetson's GPU load comes from resources, not nvidia-smi


def test_integrate_and_nvidia_smi_parsing():
    assert power.integrate([(0.0, 1000.0), (1.0, 3000.0), (3.0, 3000.0)]) == pytest.approx(8.0)
    assert power.integrate([(0.0, 1000.0)]) == 0.0
    # nvidia-smi --query-gpu=utilization.gpu --format=csv,noheader,nounits, two GPUs, one
    # of which does not report it
    assert power.parse_nvidia_smi('37\n[N/A]\n\n') == [37.0]
    assert power.parse_nvidia_smi('') == []


def test_gpu_utilisation_is_averaged_and_read_once_a_second(tmp_path):
    """The sampler's aggregation; nvidia-smi itself is not on this machine (parsing: above)."""
    calls = []

    def reader():  # what nvidia_smi_utilization() returns for two GPUs
        calls.append(time.monotonic())
        return [40.0, 60.0]
    sampler = power.DeviceSampler(interval_s=0.02, root=str(tmp_path), gpu_reader=reader)
    sampler.start()
    time.sleep(0.5)
    gpu = sampler.stop()['gpu']
    assert gpu['util_percent'] == 50.0 and gpu['max_percent'] == 50.0
    ticks = sampler.ticks
    assert len(calls) == gpu['samples'] == (ticks - 1) // power.DeviceSampler.GPU_EVERY + 1
    assert power.DeviceSampler(root=str(tmp_path), gpu_reader=lambda: None).stop()['gpu'] is None
