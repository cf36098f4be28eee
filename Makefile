# trt_classifier: two commands for a fresh x86_64 machine without ROS.
#   make bench   warm-up 1 + 100 timed inferences over real ROS 2 nodes, CPU only, no download
#   make test    linters, Python 3.6 syntax check, unit, end-to-end and ros2 launch tests
# DISTRO=kilted (default: .venv, constraints.txt) or DISTRO=jazzy (.venv-jazzy,
# constraints-jazzy.txt): the ROS 2 wheels of both share names, so each has its own venv.
PY ?= python3
DISTRO ?= kilted
ifeq ($(DISTRO),kilted)
VENV := .venv
CONSTRAINTS := constraints.txt
REQUIREMENTS := requirements.txt
else ifeq ($(DISTRO),jazzy)
VENV := .venv-jazzy
CONSTRAINTS := constraints-jazzy.txt
REQUIREMENTS := requirements.txt requirements-jazzy.txt
else
$(error DISTRO must be kilted or jazzy, not $(DISTRO))
endif
# launch, launch_ros, launch_testing, ros2cli: not on PyPI; wheels here where this folder exists
ROS2_LAUNCH ?= ../shared/ros2-launch
PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PIP_CONSTRAINT := $(CURDIR)/$(CONSTRAINTS)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: bench test lint venv launch-tools constraints clean

venv: $(STAMP)

# requirements.txt names Kilted's ros-* wheels; Jazzy takes requirements-jazzy.txt's instead.
$(STAMP): $(REQUIREMENTS) $(CONSTRAINTS) setup.py
	test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install -q setuptools==65.5.0 wheel==0.48.0
	if [ $(DISTRO) = kilted ]; then $(PYTHON) -m pip install -q -r requirements.txt; else \
	  grep -v '^ros-' requirements.txt > $(VENV)/requirements-common.txt && \
	  $(PYTHON) -m pip install -q -r $(VENV)/requirements-common.txt -r requirements-jazzy.txt; fi
	$(PYTHON) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

# colcon (PyPI) and the launch wheels, for test/test_launch.py; without them those tests skip.
launch-tools: $(STAMP)
	@if [ -x $(ROS2_LAUNCH)/install.sh ]; then \
	  test -f $(VENV)/.launch-tools || { \
	    $(PYTHON) -m pip install -q colcon-common-extensions && \
	    $(ROS2_LAUNCH)/install.sh $(VENV) $(DISTRO) >/dev/null && touch $(VENV)/.launch-tools; }; \
	else echo "no $(ROS2_LAUNCH): the ros2 launch tests will skip (README: Launch tests)"; fi

bench: $(STAMP)
	$(PYTHON) -m trt_classifier.cli bench $(BENCH_ARGS)

test: launch-tools
	TRT_CLASSIFIER_REQUIRE_LINTERS=1 $(PYTHON) -m pytest -q test $(TEST_ARGS)

constraints: $(STAMP)
	(echo '# Exact versions CI installed (Python 3.11, x86_64, ROS 2 $(DISTRO)). Regenerate: make constraints DISTRO=$(DISTRO)'; \
	 echo 'setuptools==65.5.0'; echo 'wheel==0.48.0'; \
	 $(PYTHON) -m pip freeze | grep -v -E '^-e|trt.classifier| @ file:') > $(CONSTRAINTS)

clean:
	rm -rf .venv .venv-jazzy build *.egg-info
