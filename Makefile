# Two commands on a fresh clone:  `make demo` (main job on real data)  and  `make test`.
# Both create .venv on first use. Torch is pinned to the 2.13.0 CPU build by constraints.txt.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed
# Where a folder of prebuilt wheels sits beside the clone (this machine kind's mmcv 2.1.0 build), pip uses it
# and skips the ~25-minute mmcv build; elsewhere mmcv builds from source as before.
WHEELS := $(abspath $(CURDIR)/../shared/wheels)
# Added to the machine's own find-links (where the CPU build of torch lies), never in place of them.
ifneq ($(wildcard $(WHEELS)/*.whl),)
export PIP_FIND_LINKS := $(sort $(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null) $(PIP_FIND_LINKS) $(WHEELS))
endif

.PHONY: install install-det demo test clean

$(STAMP): setup.cfg constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip "setuptools<81" wheel
	$(PIP) install -q -c constraints.txt torch==2.13.0
	$(PIP) install -q -c constraints.txt -e ".[cls,ts,dev]"
	# SpikingJelly 2.0 only for the agreement test and the neuron benchmark; its declared
	# dependencies (torchvision, torchaudio) cannot install here, so --no-deps.
	$(PIP) install -q --no-deps spikingjelly==2.0.0
	touch $(STAMP)

install: $(STAMP)

# The real Fashion-MNIST (60k/10k) ships as a Debian package.
FMNIST := /usr/share/datasets/fashion-mnist

$(FMNIST):
	@if [ "$$(id -u)" = 0 ]; then apt-get install -y -q dataset-fashion-mnist || \
	  (apt-get update -q && apt-get install -y -q dataset-fashion-mnist); \
	else sudo apt-get install -y -q dataset-fashion-mnist; fi

demo: $(STAMP) $(FMNIST)
	$(PY) tools/fashion_mnist.py

# Detection: mmdet 3.3.0 needs the full mmcv 2.1.0 with compiled ops, built from source once (~20 min on 2 cores;
# pip keeps the wheel in its cache, so later installs take seconds). It replaces mmcv-lite, which provides the same
# python package without the ops; both are removed first so that a reinstalled cls extra cannot leave a mix.
DET_STAMP := $(VENV)/.installed-det

$(DET_STAMP): $(STAMP)
	$(PIP) uninstall -y -q mmcv-lite mmcv
	$(PIP) install -c constraints.txt --no-build-isolation mmcv==2.1.0
	$(PIP) install -q -c constraints.txt mmdet==3.3.0 pycocotools
	$(PY) -c "import mmcv.ops, mmdet"  # fail here rather than let the detection tests be skipped
	touch $(DET_STAMP)

install-det: $(DET_STAMP)

# The whole suite, detection and the Fashion-MNIST tests included (the dataset installs as for the demo).
test: $(DET_STAMP) $(FMNIST)
	$(PY) -m pytest -q tests

clean:
	rm -rf $(VENV) work_dirs
