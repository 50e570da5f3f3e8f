# policyc: the two entry points are `make run` (build, then run the tools on policy-examples/)
# and `make test` (the whole test suite, clippy and rustfmt). Both install missing system
# packages first (scripts/setup.sh).

SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c

CARGO ?= cargo
# --locked once a lockfile exists: CI must build exactly what was reviewed.
LOCKED := $(if $(wildcard Cargo.lock),--locked,)
POLICYC := target/debug/policyc
EXAMPLES := policy-examples

.PHONY: all setup build run test test-only test-examples test-structure lint-rust dist bench bench-quick fuzz soak clean help

all: build

help:
	@echo "make run         build, then lint/test/build the examples in $(EXAMPLES)/"
	@echo "make test        run the whole test suite, clippy and rustfmt --check"
	@echo "make build       cargo build --workspace (debug)"
	@echo "make setup       install missing system packages (Debian)"
	@echo "make dist        release archive (static binaries, man pages, completions) + SHA256SUMS in dist/"
	@echo "make bench       benchmarks T0-T5 (<= 20 min; make bench-quick <= 3 min)"
	@echo "make fuzz        every fuzz target for FUZZ_SECONDS (default 60) each; fails on a crash"
	@echo "make soak        10^7 packets oracle vs kernel + 1,000 replaces under load (SOAK_PACKETS, SOAK_SWAPS); not CI"
	@echo "make clean       remove build outputs"

setup:
	@scripts/setup.sh

# Debug build: it is what the tests use, so `make run` after `make test` builds nothing twice.
build: setup
	$(CARGO) build --workspace $(LOCKED)

run: build
	@POLICYC=$(POLICYC) scripts/run-examples.sh $(EXAMPLES)

test: setup test-only test-examples test-structure lint-rust

# Tests: cargo-nextest when installed, cargo test otherwise (doc tests run separately because
# nextest does not run them).
test-only:
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		echo "== cargo nextest run --workspace"; \
		$(CARGO) nextest run --workspace $(LOCKED) --no-tests=warn --no-fail-fast; \
		echo "== cargo test --doc --workspace"; \
		$(CARGO) test --doc --workspace $(LOCKED); \
	else \
		echo "== cargo test --workspace (cargo-nextest not installed)"; \
		$(CARGO) test --workspace $(LOCKED) --no-fail-fast; \
	fi

# The data checks (issue 3: part of `make test`): examples lint clean, broken files are caught,
# flow tests of the examples and the KNP truth tables pass, also through the compiled datapath.
test-examples: build
	@POLICYC=$(POLICYC) scripts/test-examples.sh $(EXAMPLES)

# Issue 12: the crate layering holds (no module cycle in any crate; the lean policyc pulls no
# BPF toolchain crate and answers like the full one). Issue 15: the GitHub Action's script
# produces SARIF, JUnit and the sticky comment on policy-examples/, and actionlint is clean.
test-structure: build
	@echo "== scripts/module-cycles.py"
	@scripts/module-cycles.py
	@echo "== scripts/check-lean-build.sh"
	@scripts/check-lean-build.sh
	@echo "== scripts/check-github-action.sh"
	@POLICYC=$(POLICYC) scripts/check-github-action.sh
	@echo "== scripts/check-readme-console.py (the README's and docs' console blocks against real runs)"
	@scripts/check-readme-console.py $(POLICYC)

lint-rust:
	@echo "== cargo clippy --workspace --all-targets -- -D warnings"
	$(CARGO) clippy --workspace --all-targets $(LOCKED) -- -D warnings
	@echo "== cargo fmt --all --check"
	$(CARGO) fmt --all --check

# Release archive for x86_64 Linux (issue 15): statically linked policyc and policy-loader,
# man pages, shell completions, README, LICENSE; checked (no shared library, --version, lint
# and test of policy-examples/ from another directory) before it is packed.
dist: setup
	@scripts/dist.sh

# Benchmarks (issue 7, BENCHMARKS.md T0–T5): policyc vs a Cilium-layout reference datapath,
# iptables and nftables in one run; prints a markdown table and writes bench/results/<date>.*.
# Needs root (BPF, network namespaces); installs iptables/nftables from Debian when missing.
bench: setup
	$(CARGO) build --release -p policyc-bench -p policyc $(LOCKED)
	target/release/policyc-bench --out bench/results
	target/release/policyc-bench --out bench/results scale

bench-quick: setup
	$(CARGO) build --release -p policyc-bench -p policyc $(LOCKED)
	target/release/policyc-bench --quick --out bench/results
	target/release/policyc-bench --out bench/results scale --quick

# Fuzzing (issue 16; README.md "Fuzzing"): every cargo-fuzz target for
# FUZZ_SECONDS seconds, one after the other, failing on the first crash (its input is left in
# fuzz/artifacts/<target>/). Not part of `make test`. The kernel targets need root (BPF).
# RUSTC_BOOTSTRAP=1: cargo-fuzz passes nightly-only flags (-Zsanitizer=address, -Cpasses=
# sancov-module ...) and only a stable toolchain is installed here; RUSTC_BOOTSTRAP lets
# stable rustc accept them. It is set for the fuzz build only, never for the product build.
# New inputs go to fuzz/work/<target>/ (ignored), so the committed seeds in
# fuzz/corpus/<target>/ stay small; copy a crashing input there by hand once it is fixed.
# fuzz/dict/<target>.dict (when present): libFuzzer dictionary (the kernel targets' coverage is
# only the harness's, so the example addresses, ports and names are given to the mutator).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := frontend inventory_flowtests artifact classifier datapath_packet dns_packet
FUZZ_FLAGS ?=

fuzz: setup
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked
	RUSTC_BOOTSTRAP=1 $(CARGO) fuzz build $(FUZZ_FLAGS)
	@for target in $(FUZZ_TARGETS); do \
		echo "== fuzz $$target for $(FUZZ_SECONDS) s"; \
		mkdir -p fuzz/work/$$target; \
		dict=fuzz/dict/$$target.dict; \
		RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $(FUZZ_FLAGS) $$target fuzz/work/$$target fuzz/corpus/$$target -- \
			-max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$([ -f $$dict ] && echo -dict=$$dict) || { \
			echo "make fuzz: $$target crashed; the input is in fuzz/artifacts/$$target/"; exit 1; }; \
	done

# Soak (issue #16; not part of CI): the oracle/kernel differential over generated policy sets
# until 10^7 packets went through the kernel, and 1,000 atomic replaces under load with real
# traffic. Both print their counts; a mismatch or a wrong verdict fails the run.
SOAK_PACKETS ?= 10000000
SOAK_SWAPS ?= 1000
soak: setup build
	$(CARGO) build -p policyc-loader $(LOCKED)
	cd testsuite && POLICYC_SOAK_PACKETS=$(SOAK_PACKETS) $(CARGO) test $(LOCKED) -p policyc-testsuite --test suite -- --nocapture --exact differential_datapath::kernel_agrees_with_oracle_on_examples_and_generated_sets
	cd testsuite && POLICYC_SOAK_SWAPS=$(SOAK_SWAPS) $(CARGO) test $(LOCKED) -p policyc-testsuite --test suite -- --nocapture --exact e2e_loader::loader_enforces_replaces_and_survives_kills_with_real_traffic

clean:
	$(CARGO) clean
	rm -rf out build-out
