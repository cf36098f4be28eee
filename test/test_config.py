# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""config/classifier.yaml and the README list exactly the node's parameters and defaults."""

import os

import yaml

from trt_classifier.classifier_node import PARAMS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_yaml_has_every_parameter_with_its_default():
    with open(os.path.join(ROOT, 'config', 'classifier.yaml')) as f:
        values = yaml.safe_load(f)['/**']['ros__parameters']
    assert sorted(values) == sorted(name for name, _d, _t in PARAMS)
    for name, default, _text in PARAMS:
        assert values[name] == default and type(values[name]) is type(default), name


def test_readme_documents_every_parameter():
    with open(os.path.join(ROOT, 'README.md')) as f:
        readme = f.read()
    assert [n for n, _d, _t in PARAMS if '`%s`' % n not in readme] == []
