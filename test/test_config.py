# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""config/classifier.yaml and the README list exactly the schema's parameters and defaults."""

import os
import re

import yaml

from trt_classifier import schema
from trt_classifier.schema import CLASSIFIER

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _yaml_lines():
    with open(os.path.join(ROOT, 'config', 'classifier.yaml')) as f:
        return f.read()


def test_yaml_has_every_parameter_with_its_default():
    values = yaml.safe_load(_yaml_lines())['/**']['ros__parameters']
    assert sorted(values) == sorted(param.name for param in CLASSIFIER)
    for param in CLASSIFIER:
        assert values[param.name] == param.default, param.name
        assert type(values[param.name]) is type(param.default), param.name


def test_yaml_comments_list_every_choice():
    text = _yaml_lines()
    for param in CLASSIFIER:
        if not param.choices:
            continue
        line = re.search(r'^\s+%s:[^#\n]*#(.*)$' % param.name, text, re.M)
        assert line, '%s has no comment listing its choices' % param.name
        listed = re.findall(r'[\w:]+', line.group(1))
        assert [c for c in param.choices if c not in listed] == [], param.name


def test_readme_documents_every_parameter_default_and_range():
    with open(os.path.join(ROOT, 'README.md')) as f:
        readme = f.read()
    assert [p.name for p in CLASSIFIER if '`%s`' % p.name not in readme] == []
    table = readme[readme.index('## Parameters'):readme.index('## Camera-sized frames')]
    for param in CLASSIFIER:
        row = next(r for r in table.splitlines() if r.startswith('| ') and
                   '`%s`' % param.name in r.split('|')[1])
        if param.value_range:
            assert '%d-%d' % param.value_range in row, row
        for choice in param.choices or ():
            assert '`%s`' % choice in row, (param.name, choice)
    # the README's list of what reloads is the schema's
    reloads = readme[readme.index('Changing `backend`'):readme.index('**reloads safely**')]
    assert sorted(re.findall(r'`(\w+)`', reloads)) == sorted(schema.RELOAD_PARAMS)
