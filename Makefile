# Convenience entry points; the build itself is meson (build/). On a fresh Debian 12 machine, as
# root, `make demo` and `make check` each install what they need first.
#
#   make            configure build/ if needed, then build
#   make deps       install every Debian package the build and the tests need
#   make demo       build, then run pmd in the foreground on units/examples (tools/demo.sh)
#   make check      everything CI runs: tests on a normal, an ASan+UBSan and a libFuzzer build
#   make clean      remove the build directories and .demo/

BUILD_DIR ?= build
MESON_OPTS ?=

.PHONY: all build deps demo check clean

all: build

build:
	@if [ ! -f $(BUILD_DIR)/build.ninja ]; then \
		if [ -f $(BUILD_DIR)/meson-private/coredata.dat ]; then \
			meson setup --wipe $(BUILD_DIR) $(MESON_OPTS); \
		else \
			meson setup $(BUILD_DIR) $(MESON_OPTS); \
		fi; \
	fi
	ninja -C $(BUILD_DIR)

deps:
	@bash tools/install-deps.sh

demo:
	@bash tools/install-deps.sh --build-only
	@$(MAKE) --no-print-directory build
	@bash tools/demo.sh

check:
	@bash tools/install-deps.sh
	@bash tools/check.sh

clean:
	rm -rf build build-asan build-fuzz .demo
