# mdfleet.md: developer and CI entry points. `make test` is what CI runs (via .ci/run).
# Every pytest run fails when it collects no test (pytest exit 5): nothing here swallows it.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV ?= $(ROOT)/.venv
PY := $(VENV)/bin/python
DEB_PY ?= /usr/bin/python3
BUILD := $(ROOT)/build
# Tools of the venv first: molecule and ansible-test spawn ansible-* by name.
export PATH := $(VENV)/bin:$(PATH)

PYTEST_ARGS ?=
PYTEST_COMMON := -m pytest -p no:cacheprovider -ra --timeout=900 $(PYTEST_ARGS)
# Controller-side tests (venv: pinned cryptography/josepy/ansible-core): every folder of tests/
# but the harness (peers) and data folders.
TEST_DIRS := $(wildcard tests/unit) $(filter-out tests/unit tests/peers tests/images tests/output,$(patsubst %/,%,$(wildcard tests/*/)))
# Engine tests again on what a Debian 12 host has (cryptography 38, josepy 1.13, requests 2.28).
DEB_TEST_DIRS := $(wildcard tests/unit tests/integration)
# The fault suite (kills, a full disk, a corruption corpus, slow peers, concurrent runs): its own step, once.
FAULT_DIR := tests/integration/faults

# What `make test` runs after `venv`, in order (.ci/run reads this list to time each step).
STEPS := ruff pytest pytest-debian faults sanity ansible-lint molecule

.PHONY: help venv test steps $(STEPS) demo clean options

help:
	@echo "make venv          install apt packages + .venv (scripts/install-deps.sh; idempotent)"
	@echo "make test          everything CI runs: venv ruff pytest pytest-debian faults sanity ansible-lint molecule"
	@echo "make ruff          lint Python"
	@echo "make pytest        $(TEST_DIRS) under .venv"
	@echo "make pytest-debian $(DEB_TEST_DIRS) under $(DEB_PY)"
	@echo "make faults        $(FAULT_DIR): kills (write points, random), full disk, corrupt store files, slow peers, concurrent runs"
	@echo "make sanity        ansible-test sanity on a copy in <tmp>/ansible_collections/mdfleet/md"
	@echo "make ansible-lint  ansible-lint --profile production"
	@echo "make molecule      molecule test --all (scenarios in extensions/molecule)"
	@echo "make demo          scripts/demo.sh"
	@echo "make options       regenerate what the option table gives (doc fragments, role specs/defaults, docs/config.md)"
	@echo "PYTEST_ARGS='-k x -x' narrows the pytest targets."

venv:
	bash $(ROOT)/scripts/install-deps.sh

test: venv $(STEPS)

steps:
	@echo $(STEPS)

ruff:
	cd $(ROOT) && $(VENV)/bin/ruff check .

pytest:
	mkdir -p $(BUILD)
	cd $(ROOT) && $(PY) $(PYTEST_COMMON) --ignore=$(FAULT_DIR) --junitxml=$(BUILD)/junit-venv.xml $(TEST_DIRS)

pytest-debian:
	mkdir -p $(BUILD)
	cd $(ROOT) && $(DEB_PY) $(PYTEST_COMMON) --ignore=$(FAULT_DIR) --junitxml=$(BUILD)/junit-debian.xml $(DEB_TEST_DIRS)

# Prints the suite's figures at its end (kills at write points and at random moments, disk-full runs,
# corruption cases, slow peers, concurrent runs; inconsistent stores, wasted orders, tracebacks), also
# into build/faults-summary.txt, which .ci/run shows in its summary.
faults:
	mkdir -p $(BUILD)
	rm -f $(BUILD)/faults-summary.txt
	cd $(ROOT) && MDFLEET_FAULT_SUMMARY=$(BUILD)/faults-summary.txt \
	  $(PY) $(PYTEST_COMMON) --junitxml=$(BUILD)/junit-faults.xml $(FAULT_DIR)

# ansible-test needs an ansible_collections/<namespace>/<name> tree, outside this git checkout
# (inside it, git's ignore rules would hide the copy and it would test nothing and pass).
# The copy is what git would commit: tracked + untracked-not-ignored files, never .venv.
sanity:
	tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	coll="$$tmp/ansible_collections/mdfleet/md"; mkdir -p "$$coll"; \
	git -C $(ROOT) ls-files -z -co --exclude-standard \
	  | tar -C $(ROOT) --null --ignore-failed-read -T - -cf - | tar -C "$$coll" -xf -; \
	cd "$$coll" && ansible-test sanity --python 3.11 --color no 2>&1 | tee "$$tmp/sanity.log"; \
	if grep -q "All targets skipped" "$$tmp/sanity.log"; then echo "sanity: nothing was tested" >&2; exit 1; fi

# ansible-lint resolves mdfleet.md.* (roles, modules) through ANSIBLE_COLLECTIONS_PATH: a link to this
# clone in a temporary ansible_collections tree, so a copy installed elsewhere (~/.ansible/collections)
# can neither hide a missing file nor be linted instead of the clone.
ansible-lint:
	tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; \
	mkdir -p "$$tmp/ansible_collections/mdfleet"; ln -s $(ROOT) "$$tmp/ansible_collections/mdfleet/md"; \
	cd $(ROOT) && ANSIBLE_COLLECTIONS_PATH="$$tmp" ansible-lint --offline --profile production

# A fresh CI machine has neither podman's settings nor the host image: both scripts are
# idempotent (the image is cached by its recipe's hash), so this costs ~0.5 s when both exist.
molecule:
	@cd $(ROOT); if compgen -G 'extensions/molecule/*/molecule.yml' >/dev/null; then \
	  bash scripts/setup-podman.sh && bash tests/images/build-debian12.sh && molecule test --all; \
	else echo "molecule: no scenario in extensions/molecule yet: nothing to run"; fi

demo:
	bash $(ROOT)/scripts/demo.sh

# The option table (plugins/module_utils/mdcore/options/) -> its checked-in copies; tests/unit/test_options_generated.py
# fails when one differs.
options:
	cd $(ROOT) && $(PY) scripts/gen_options.py

clean:
	rm -rf $(BUILD)
