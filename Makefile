# The two commands a user needs are `make run` and `make test`; each sets up
# everything it needs first (scripts/bootstrap.sh is idempotent and fast when
# nothing is missing). CMake presets (CMakePresets.json) do the real work.
.PHONY: all bootstrap build run test test-asan test-tsan bench format format-check clean

all: build

bootstrap:
	@bash scripts/bootstrap.sh

build: bootstrap
	@cmake --preset default >/dev/null
	@cmake --build --preset default
	@bash scripts/build-web.sh

# Pika's main job on its embedded default: a tour on real data
# (scripts/demo.sh; outputs under build/demo/).
run: build
	@bash scripts/demo.sh

# Every suite: ThreadSanitizer run of the concurrency tests, then everything
# (unit, stress, CLI, style) under AddressSanitizer + UBSan. The last lines
# printed are ctest's summary of the full run.
test: bootstrap test-tsan test-asan

test-tsan: bootstrap
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan
	ctest --preset tsan

test-asan: bootstrap
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan
	ctest --preset asan

bench: bootstrap
	@cmake --preset release >/dev/null
	@cmake --build --preset release
	bash bench/run.sh build/release

format:
	clang-format -i $$(git ls-files '*.c' '*.h' '*.cpp')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h' '*.cpp')

clean:
	rm -rf build
