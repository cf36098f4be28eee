# trt_classifier: two commands for a fresh x86_64 machine without ROS.
#   make bench   warm-up 1 + 100 timed inferences over real ROS 2 nodes, CPU only, no download
#   make test    linters, Python 3.6 syntax check, unit and end-to-end tests
PY ?= python3
VENV := .venv
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: bench test lint venv constraints clean

venv: $(STAMP)

$(STAMP): requirements.txt constraints.txt setup.py
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install -q setuptools==65.5.0 wheel==0.48.0
	$(PYTHON) -m pip install -q -r requirements.txt
	$(PYTHON) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

bench: $(STAMP)
	$(PYTHON) -m trt_classifier.cli bench $(BENCH_ARGS)

test: $(STAMP)
	TRT_CLASSIFIER_REQUIRE_LINTERS=1 $(PYTHON) -m pytest -q test $(TEST_ARGS)

constraints: $(STAMP)
	(echo '# Exact versions CI installed (Python 3.11, x86_64). Regenerate: make constraints'; \
	 echo 'setuptools==65.5.0'; echo 'wheel==0.48.0'; \
	 $(PYTHON) -m pip freeze | grep -v -E '^-e|trt.classifier') > constraints.txt

clean:
	rm -rf $(VENV) build *.egg-info
