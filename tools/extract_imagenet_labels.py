# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""Regenerate trt_classifier/data/imagenet_classes.txt from a torchvision wheel.

Usage: pip download --no-deps torchvision==0.24.1 -d /tmp/tv
       python3 tools/extract_imagenet_labels.py /tmp/tv/torchvision-*.whl

The class list lives in ``torchvision/models/_meta.py`` as ``_IMAGENET_CATEGORIES`` (BSD-3-Clause);
it is read with ``ast`` so neither torch nor torchvision is imported.
"""

import ast
import os
import sys
import zipfile

HEADER = (
    '# ImageNet-1k class names, one per line, index order of the usual ImageNet weights.\n'
    '# Source: torchvision/models/_meta.py (_IMAGENET_CATEGORIES), torchvision %s,\n'
    '# Copyright (c) Soumith Chintala 2016, BSD 3-Clause License.\n'
)


def main(wheel):
    with zipfile.ZipFile(wheel) as zf:
        source = zf.read('torchvision/models/_meta.py').decode('utf-8')
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == '_IMAGENET_CATEGORIES':
            names = ast.literal_eval(node.value)
            break
    else:
        raise SystemExit('_IMAGENET_CATEGORIES not found in %s' % wheel)
    assert len(names) == 1000, len(names)
    version = os.path.basename(wheel).split('-')[1]
    out = os.path.join(os.path.dirname(__file__), '..', 'trt_classifier', 'data',
                       'imagenet_classes.txt')
    with open(out, 'w') as f:
        f.write(HEADER % version)
        f.write('\n'.join(names) + '\n')


if __name__ == '__main__':
    main(sys.argv[1])
