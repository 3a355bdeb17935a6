# onprem.wandb — developer and CI entry points. Everything installs what it needs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_HOME := $(CURDIR)/.ansible
TB := tests/testbed
SCENARIOS ?= mysql minio nginx redis ops monitoring

.PHONY: help deps images binaries testbed kube-up kube-down lint sanity unit integration molecule test demo clean-testbed clean-cache build docs benchmark benchmark-site benchmark-transfer

help:
	@echo "make deps           install apt prerequisites and the pinned Python toolchain (.venv)"
	@echo "make test           lint, sanity, unit, integration and every Molecule scenario"
	@echo "make demo           bring up the local testbed and install W&B's stack on it (site.yml)"
	@echo "make clean-testbed  remove testbed hosts, network and the local API server"
	@echo "make docs           regenerate docs/inventory-reference.md from the roles' argument_specs"
	@echo "make benchmark      on the running demo: the warm re-run of site.yml (benchmark-site; BENCH=--cold for a"
	@echo "                    cold demo too) and S3 transfers through the proxy vs MinIO TLS (benchmark-transfer)"

deps:
	@$(TB)/deps.sh
	@mkdir -p .ansible/collections/ansible_collections/onprem && ln -sfn ../../../.. .ansible/collections/ansible_collections/onprem/wandb

images: deps
	@$(TB)/images.sh all

binaries: deps
	@$(TB)/build-binaries.sh all

testbed: images binaries

kube-up: binaries
	@$(TB)/kube.sh start

kube-down:
	@$(TB)/kube.sh stop

lint: deps
	$(BIN)/yamllint -s .
	$(BIN)/ruff check plugins tests benchmarks tools
	$(BIN)/ansible-lint --profile production

sanity: deps
	@$(TB)/sanity.sh

unit: deps
	$(BIN)/pytest -q tests/unit

integration: testbed
	$(BIN)/pytest -q tests/integration

molecule: testbed
	@for s in $(SCENARIOS); do \
	  if [ -f extensions/molecule/$$s/molecule.yml ]; then \
	    echo "== molecule test -s $$s"; $(BIN)/molecule test -s $$s || exit 1; \
	  fi; done

build: deps
	$(BIN)/ansible-galaxy collection build --force --output-path build/

test: deps
	@$(TB)/run-tests.sh

demo: testbed
	@$(TB)/demo.sh

docs: deps
	$(BIN)/python tools/gen_inventory_reference.py

benchmark: benchmark-site benchmark-transfer

benchmark-site: deps
	@benchmarks/site.sh $(BENCH)

# TRANSFER="--sizes 1,64" for a shorter run
benchmark-transfer: deps
	@$(BIN)/python benchmarks/s3_transfer.py $(TRANSFER)

clean-testbed:
	@$(TB)/hosts.sh clean
	@$(TB)/kube.sh stop

clean-cache: clean-testbed
	rm -rf "$${ONPREM_WANDB_CACHE:-$$HOME/.cache/onprem-wandb}"
