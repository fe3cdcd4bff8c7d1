# gwfailover: top-level build, install, test and demo.
#
#   make deps     install Debian packages + fetch/configure Kamailio source
#   make          build modules/gwfailover/gwfailover.so (= make module)
#   make install  copy the module into Kamailio's module directory
#   make test     deps + build + unit, sanitizer and integration tests
#   make demo     deps + build + run the failover demo on loopback
#   make bench    deps + build + benchmarks, rewrites docs/benchmarks.md
#   make format   reformat C sources;  make format-check  verify them

SHELL := /bin/bash
# Debian's interpreter, which has python3-pytest (not whatever is on PATH).
PYTHON ?= /usr/bin/python3
TOP := $(abspath .)
BUILD_DIR := $(TOP)/build
MOD_DIR := $(TOP)/modules/gwfailover

# Version of the installed kamailio binary ("5.6.3"), empty if not installed.
KAMAILIO_BIN ?= /usr/sbin/kamailio
KAM_VERSION = $(shell $(KAMAILIO_BIN) -v 2>/dev/null | sed -n 's/^version: kamailio \([0-9.]*\).*/\1/p')
KAMAILIO_SRC ?= $(BUILD_DIR)/kamailio-$(KAM_VERSION)
# Version of the source tree, from its Makefile.defs.
SRC_VERSION = $(shell sed -n 's/^\(VERSION\|PATCHLEVEL\|SUBLEVEL\) *= *\([0-9]*\).*/\2/p' $(KAMAILIO_SRC)/src/Makefile.defs 2>/dev/null | paste -sd.)
MODULES_DIR ?= $(shell dirname "$$(dpkg -L kamailio 2>/dev/null | grep '/modules/tm.so$$')" 2>/dev/null)

C_SOURCES = $(wildcard $(MOD_DIR)/*.[ch] tests/unit/*.[ch] bench/*.[ch])

.PHONY: all module deps check-src install test unit-test asan-test \
	integration-test demo bench format format-check clean distclean

all: module

deps:
	@BUILD_DIR=$(BUILD_DIR) bash scripts/deps.sh

# Refuse to build a module the installed core would reject at load time.
check-src:
	@if [ -z "$(KAM_VERSION)" ]; then \
		echo "error: $(KAMAILIO_BIN) not found or not runnable; run 'make deps'" >&2; exit 1; fi
	@if [ ! -f "$(KAMAILIO_SRC)/src/Makefile.defs" ]; then \
		echo "error: no Kamailio source at KAMAILIO_SRC=$(KAMAILIO_SRC); run 'make deps' or point KAMAILIO_SRC at a kamailio $(KAM_VERSION) tree" >&2; exit 1; fi
	@if [ "$(SRC_VERSION)" != "$(KAM_VERSION)" ]; then \
		echo "error: installed kamailio is $(KAM_VERSION) but KAMAILIO_SRC=$(KAMAILIO_SRC) is $(SRC_VERSION);" >&2; \
		echo "       the module must be built from the same version's source: run 'make deps'" >&2; \
		echo "       (fetches $(KAM_VERSION)) or set KAMAILIO_SRC to a kamailio $(KAM_VERSION) tree" >&2; exit 1; fi
	@if [ ! -f "$(KAMAILIO_SRC)/src/config.mak" ]; then \
		echo "error: $(KAMAILIO_SRC) is not configured; run 'make -C $(KAMAILIO_SRC) cfg'" >&2; exit 1; fi

module: check-src
	@$(MAKE) --no-print-directory -C $(MOD_DIR) COREPATH=$(KAMAILIO_SRC)/src

install: module
	@if [ -z "$(MODULES_DIR)" ]; then \
		echo "error: cannot find Kamailio's module directory; set MODULES_DIR=" >&2; exit 1; fi
	install -D -m 0644 $(MOD_DIR)/gwfailover.so $(MODULES_DIR)/gwfailover.so

unit-test:
	@$(MAKE) --no-print-directory -C tests/unit test

asan-test:
	@$(MAKE) --no-print-directory -C tests/unit asan

integration-test: module
	@cd tests && $(PYTHON) -m pytest -q -p no:cacheprovider integration

test: deps
	@$(MAKE) --no-print-directory module
	@$(MAKE) --no-print-directory format-check
	@$(MAKE) --no-print-directory unit-test
	@$(MAKE) --no-print-directory asan-test
	@$(MAKE) --no-print-directory -C tests/unit valgrind
	@$(MAKE) --no-print-directory integration-test

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
	rm -rf tests/logs

distclean: clean
	rm -rf $(BUILD_DIR)
