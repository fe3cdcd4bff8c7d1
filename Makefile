# gwfailover: top-level build, install, test and demo.
#
#   make deps     install Debian packages + fetch/configure Kamailio source
#   make          build modules/gwfailover/gwfailover.so (= make module)
#   make install  copy the module into Kamailio's module directory
#   make deb      binary Debian package for the installed Kamailio
#   make test     deps + build + unit, sanitizer and integration tests, the
#                 integration tests against Kamailio 5.6 (the installed
#                 package) and 6.0 (built from source into build/);
#                 KAMAILIO_VERSION=5.6 or 6.0 tests one
#   make demo     deps + build + run the failover demo on loopback
#   make module SANITIZE=1   the module with AddressSanitizer and UBSan
#   make asan-integration    build that way, run the integration suite with
#                 the sanitizer runtime preloaded into Kamailio (per
#                 KAMAILIO_VERSION like make test; PYTEST_ARGS= narrows it)
#   make bench    deps + build + benchmarks, rewrites docs/benchmarks.md
#   make fuzz     deps + every libFuzzer target for FUZZ_SECONDS (60) each
#                 (docs/testing.md); `make test` runs them 3 s each
#   make soak     deps + build + the seeded chaos soak (docs/testing.md):
#                 SOAK_CALLS (10000), SOAK_SEED (random, printed), SOAK_RATE
#                 (50 calls/s); SANITIZE=1 with the module under ASan/UBSan;
#                 `make test` runs short ones (1000 calls), a fixed and a
#                 random seed
#   make format   reformat C sources;  make format-check  verify them

SHELL := /bin/bash
# Debian's interpreter, which has python3-pytest (not whatever is on PATH).
PYTHON ?= /usr/bin/python3
TOP := $(abspath .)
BUILD_DIR := $(TOP)/build
MOD_DIR := $(TOP)/modules/gwfailover

# Which Kamailio (KAMAILIO_VERSION): 5.6, the installed Debian 12 package
# (also when empty), or 6.0, which scripts/kamailio-src.sh builds from
# source into build/, never over the system Kamailio. `make test` covers
# every supported series unless KAMAILIO_VERSION names one.
SUPPORTED_VERSIONS := 5.6 6.0
KAMAILIO_VERSION ?=
TEST_VERSIONS := $(if $(KAMAILIO_VERSION),$(KAMAILIO_VERSION),$(SUPPORTED_VERSIONS))
ifeq ($(filter-out 5.6,$(KAMAILIO_VERSION)),)
KAMAILIO_BIN ?= /usr/sbin/kamailio
else ifeq ($(KAMAILIO_VERSION),6.0)
KAMAILIO_SRC ?= $(BUILD_DIR)/kamailio-6.0.1
KAMAILIO_BIN ?= $(KAMAILIO_SRC)/src/kamailio
# the tests and the demo run that binary, its kamcmd and its modules
export KAMAILIO_BIN
export KAMCMD_BIN ?= $(KAMAILIO_SRC)/utils/kamcmd/kamcmd
export KAMAILIO_MPATH ?= $(KAMAILIO_SRC)/src/modules
else
$(error KAMAILIO_VERSION=$(KAMAILIO_VERSION): expected 5.6 (the installed package, also the default) or 6.0)
endif
# Version of that kamailio binary ("5.6.3"), empty if not there.
KAM_VERSION = $(shell $(KAMAILIO_BIN) -v 2>/dev/null | sed -n 's/^version: kamailio \([0-9.]*\).*/\1/p')
KAMAILIO_SRC ?= $(BUILD_DIR)/kamailio-$(KAM_VERSION)
# Version of the source tree, from its Makefile.defs.
SRC_VERSION = $(shell sed -n 's/^\(VERSION\|PATCHLEVEL\|SUBLEVEL\) *= *\([0-9]*\).*/\2/p' $(KAMAILIO_SRC)/src/Makefile.defs 2>/dev/null | paste -sd.)
MODULES_DIR ?= $(shell dirname "$$(dpkg -L kamailio 2>/dev/null | grep '/modules/tm.so$$')" 2>/dev/null)

# SANITIZE=1: build the module with -fsanitize=address,undefined
# (docs/testing.md, "Sanitizers"). Empty or 0: a normal build.
SANITIZE ?=
ifneq ($(filter-out 0 1,$(SANITIZE)),)
$(error SANITIZE=$(SANITIZE): expected 1, or 0/empty for a normal build)
endif
SAN := $(filter 1,$(SANITIZE))
PYTEST_ARGS ?=

C_SOURCES = $(wildcard $(MOD_DIR)/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] \
	tests/fuzz/kamstub/core/*.h bench/*.[ch])

.PHONY: all module deps check-src install deb test unit-test asan-test \
	integration-test asan-integration asan-integration-one fuzz fuzz-smoke \
	soak soak-one soak-smoke demo bench format format-check clean distclean

all: module

deps:
	@BUILD_DIR=$(BUILD_DIR) bash scripts/deps.sh
	@if [ -n "$(KAMAILIO_VERSION)" ] && [ "$(KAMAILIO_VERSION)" != 5.6 ]; then \
		BUILD_DIR=$(BUILD_DIR) bash scripts/kamailio-src.sh $(KAMAILIO_VERSION); fi

# Refuse to build a module the installed core would reject at load time.
check-src:
	@if [ -z "$(KAM_VERSION)" ]; then \
		echo "error: $(KAMAILIO_BIN) not found or not runnable; run 'make deps'" >&2; exit 1; fi
	@case "$(KAM_VERSION)" in $(or $(KAMAILIO_VERSION),*)*) ;; *) \
		echo "error: KAMAILIO_VERSION=$(KAMAILIO_VERSION) but $(KAMAILIO_BIN) is $(KAM_VERSION)" >&2; exit 1;; esac
	@if [ ! -f "$(KAMAILIO_SRC)/src/Makefile.defs" ]; then \
		echo "error: no Kamailio source at KAMAILIO_SRC=$(KAMAILIO_SRC); run 'make deps' or point KAMAILIO_SRC at a kamailio $(KAM_VERSION) tree" >&2; exit 1; fi
	@if [ "$(SRC_VERSION)" != "$(KAM_VERSION)" ]; then \
		echo "error: installed kamailio is $(KAM_VERSION) but KAMAILIO_SRC=$(KAMAILIO_SRC) is $(SRC_VERSION);" >&2; \
		echo "       the module must be built from the same version's source: run 'make deps'" >&2; \
		echo "       (fetches $(KAM_VERSION)) or set KAMAILIO_SRC to a kamailio $(KAM_VERSION) tree" >&2; exit 1; fi
	@if [ ! -f "$(KAMAILIO_SRC)/src/config.mak" ]; then \
		echo "error: $(KAMAILIO_SRC) is not configured; run 'make -C $(KAMAILIO_SRC) cfg'" >&2; exit 1; fi

# Objects built against another Kamailio version, or with the sanitizers
# when they are not wanted (or the other way round), are cleaned first: the
# core refuses a module built from other sources, and a sanitizer build
# loads only with its runtime preloaded. The stamp names both.
BUILT_FOR := $(MOD_DIR)/.built-for
BUILD_STAMP := $(KAMAILIO_SRC)$(if $(SAN), SANITIZE=1)
module: check-src
	@if [ "$$(cat $(BUILT_FOR) 2>/dev/null)" != "$(BUILD_STAMP)" ]; then \
		$(MAKE) --no-print-directory -C $(MOD_DIR) COREPATH=$(KAMAILIO_SRC)/src clean >/dev/null 2>&1; \
		echo "$(BUILD_STAMP)" > $(BUILT_FOR); fi
	@$(MAKE) --no-print-directory -C $(MOD_DIR) COREPATH=$(KAMAILIO_SRC)/src SANITIZE=$(SAN)

install: module
	@if [ -n "$(KAMAILIO_VERSION)" ] && [ "$(KAMAILIO_VERSION)" != 5.6 ] \
			&& [ "$(origin MODULES_DIR)" != "command line" ]; then \
		echo "error: this module is built for Kamailio $(KAMAILIO_VERSION) from build/, not for the installed package: set MODULES_DIR= to that Kamailio's module directory" >&2; exit 1; fi
	@if [ -z "$(MODULES_DIR)" ]; then \
		echo "error: cannot find Kamailio's module directory; set MODULES_DIR=" >&2; exit 1; fi
	install -D -m 0644 $(MOD_DIR)/gwfailover.so $(MODULES_DIR)/gwfailover.so

# A binary Debian package of the module for the installed Kamailio (its
# version pinned), in build/deb/, checked with lintian.
deb:
	@$(MAKE) --no-print-directory deps KAMAILIO_VERSION=5.6
	@$(MAKE) --no-print-directory module KAMAILIO_VERSION=5.6
	@deb=$$(bash scripts/mkdeb.sh $(BUILD_DIR)/deb) && echo "built $$deb" && \
		bash scripts/lint-deb.sh "$$deb"

unit-test:
	@$(MAKE) --no-print-directory -C tests/unit test

asan-test:
	@$(MAKE) --no-print-directory -C tests/unit asan

integration-test: module
	@cd tests && $(PYTHON) -m pytest -p no:cacheprovider $(PYTEST_ARGS) integration

# libFuzzer targets of the parsers (tests/fuzz/, clang from `make deps`):
# each runs FUZZ_SECONDS from a scratch copy of its seed corpus in
# build/fuzz/; a finding fails and prints the file that reproduces it.
# FUZZ_TARGETS= picks some. fuzz-smoke (`make test`) runs each for
# FUZZ_SMOKE_SECONDS (3): they keep building and passing.
FUZZ_MAKE = $(MAKE) --no-print-directory -C tests/fuzz -j2 \
	KAMAILIO_SRC=$(KAMAILIO_SRC) FUZZ_WORK=$(BUILD_DIR)/fuzz

fuzz: deps
	@$(FUZZ_MAKE) run

fuzz-smoke:
	@$(FUZZ_MAKE) smoke

# The integration suite with the module built with ASan and UBSan, their
# runtime preloaded into each Kamailio (GWF_SANITIZE=1, see harness.py); a
# sanitizer report in any Kamailio process fails the test that produced it.
# Not part of `make test` (about 6 minutes per Kamailio on 2 cores). The
# module is left built with the sanitizers: the next plain `make` rebuilds it.
asan-integration:
	@for v in $(TEST_VERSIONS); do \
		echo "== integration tests under ASan/UBSan against Kamailio $$v"; \
		$(MAKE) --no-print-directory asan-integration-one \
			KAMAILIO_VERSION=$$v SANITIZE=1 || exit 1; done

# One series (KAMAILIO_VERSION set, so the variables 6.0 exports are set).
asan-integration-one: module
	@start=$$(date +%s); rc=0; \
	(cd tests && GWF_SANITIZE=1 $(PYTHON) -m pytest -p no:cacheprovider \
		$(PYTEST_ARGS) integration) || rc=$$?; \
	echo "== ASan/UBSan integration run against Kamailio $(KAMAILIO_VERSION): $$(( $$(date +%s) - start )) s"; \
	exit $$rc

# The seeded chaos soak (tests/soak/soak.py) against one series
# (KAMAILIO_VERSION, default 5.6). SOAK_CALLS, SOAK_SEED and SOAK_RATE go
# through the environment; the seed is printed first and with any failure.
soak: deps
	@$(MAKE) --no-print-directory soak-one

soak-one: module
	@cd tests && $(if $(SAN),GWF_SANITIZE=1) $(PYTHON) soak/soak.py

# `make test`: short soaks, one with a fixed seed (the same timeline every
# run) against the first series tested, one with a random seed (printed: a
# failure is replayed with it) against the last. SOAK_SEED= picks the seed
# of one soak-smoke run (empty: random).
SOAK_SMOKE_CALLS ?= 1000
SOAK_SMOKE_RATE ?= 100
SOAK_FIXED_SEED ?= 20261204
soak-smoke: module
	@cd tests && SOAK_CALLS=$(SOAK_SMOKE_CALLS) SOAK_RATE=$(SOAK_SMOKE_RATE) \
		SOAK_SEED=$(SOAK_SEED) $(PYTHON) soak/soak.py

# The checks of the pure core once (unit tests plain, under ASan/UBSan and
# valgrind, the fuzz smoke), the integration suite (real Kamailio, real
# sipp) against each series in TEST_VERSIONS.
test:
	@for v in $(TEST_VERSIONS); do \
		$(MAKE) --no-print-directory deps KAMAILIO_VERSION=$$v || exit 1; done
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory unit-test
	@# the core benchmark builds against the core (-Werror): it keeps up
	@$(MAKE) --no-print-directory -C bench/core core_bench
	@$(MAKE) --no-print-directory asan-test
	@$(MAKE) --no-print-directory -C tests/unit valgrind
	@$(MAKE) --no-print-directory fuzz-smoke
	@for v in $(TEST_VERSIONS); do \
		echo "== integration tests against Kamailio $$v"; \
		$(MAKE) --no-print-directory integration-test KAMAILIO_VERSION=$$v \
			|| exit 1; \
		seeds="$(SOAK_FIXED_SEED) random"; \
		[ "$$v" = "$(firstword $(TEST_VERSIONS))" ] || seeds=random; \
		[ "$$v" = "$(lastword $(TEST_VERSIONS))" ] || seeds=$(SOAK_FIXED_SEED); \
		for seed in $$seeds; do \
			echo "== soak ($$seed seed) against Kamailio $$v"; \
			$(MAKE) --no-print-directory soak-smoke KAMAILIO_VERSION=$$v \
				SOAK_SEED=$${seed#random} || exit 1; done; done

demo: deps
	@$(MAKE) --no-print-directory module
	@$(PYTHON) scripts/demo.py

# Benchmarks (not part of `make test`): prints the tables and rewrites
# docs/benchmarks.md with the machine they ran on.
bench: deps
	@$(MAKE) --no-print-directory module
	@$(PYTHON) bench/run_all.py

format:
	clang-format -i $(C_SOURCES)

format-check:
	@clang-format --dry-run --Werror $(C_SOURCES) && echo "format-check: ok ($(words $(C_SOURCES)) files)"

clean:
	-@$(MAKE) --no-print-directory -C $(MOD_DIR) COREPATH=$(KAMAILIO_SRC)/src clean 2>/dev/null
	-@$(MAKE) --no-print-directory -C tests/unit clean 2>/dev/null
	-@$(MAKE) --no-print-directory -C tests/fuzz clean 2>/dev/null
	rm -rf tests/logs

distclean: clean
	rm -rf $(BUILD_DIR)
