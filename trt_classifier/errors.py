# Copyright 2026 The trt_classifier Authors
# SPDX-License-Identifier: Apache-2.0
"""The package's one error type."""


class ClassifierError(RuntimeError):
    """Raised for every failure a user can act on: bad input, missing runtime, bad file.

    The message names the thing at fault (which encoding, which file, what to install); lower-level
    exceptions are chained as ``__cause__``.
    """


class BackendUnavailable(ClassifierError):
    """The chosen backend's runtime is not installed on this machine."""
