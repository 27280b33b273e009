# Two commands on a fresh clone:  `make demo` (main job on real data)  and  `make test`.
# Both create .venv on first use. Torch is pinned to the 2.13.0 CPU build by constraints.txt.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

.PHONY: install demo test benchmark clean

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

demo: $(STAMP)
	$(PY) tools/benchmark.py train --model smixer-cifar10 --settings 0,0 0.3,0.75 --batch 32 --out work_dirs/benchmark

test: $(STAMP)
	$(PY) -m pytest -q tests

clean:
	rm -rf $(VENV) work_dirs
