# weft developer recipes. `just --list` shows them.

staticcheck := "honnef.co/go/tools/cmd/staticcheck@v0.8.2"

# Build the weft binary into ./bin.
build:
    go build -o bin/weft ./cmd/weft

# Run the test suite (the README's command).
test:
    go test ./...

# Formatting, vet and staticcheck.
lint:
    test -z "$(gofmt -l .)"
    go vet ./...
    go run {{staticcheck}} ./...

# Benchmarks of every package, with allocations.
bench:
    go test -run '^$' -bench . -benchmem ./...

# Hunt the positive MMC fixture: prints one alert.
hunt-demo:
    go run ./cmd/weft hunt testdata/xml/mmc-positive.xml

# Generate the benchmark corpus into ./bench-corpus/full (not committed):
# 64 hosts, a file each, over 24 hours: about 2.2 million events (over 2 GiB),
# 48 attacks and 3 near-misses of each kind, listed in its manifest.json.
bench-corpus:
    go run ./testdata/gen -seed 2026 -hosts 64 -span 24h -rate 0.4 -attacks 48 -near-misses all,all,all -dir bench-corpus/full

# Reproduce BENCHMARKS.md (a ~180 MiB corpus in ./bench-corpus/compare).
bench-tools:
    testdata/gen/bench.sh

# What CI runs.
ci:
    bash .ci/run

# Cross-compile release binaries into ./dist: linux/amd64, linux/arm64 and
# windows/amd64, static, with the version from git (weft version prints it
# and the commit Go records from the checkout).
release version=`git describe --tags --always --dirty 2>/dev/null || echo devel`:
    mkdir -p dist
    for target in linux/amd64 linux/arm64 windows/amd64; do \
        os=${target%/*}; arch=${target#*/}; ext=""; [ "$os" = windows ] && ext=.exe; \
        CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags "-s -w -X main.version={{version}}" \
            -o dist/weft-{{version}}-$os-$arch$ext ./cmd/weft || exit 1; \
    done
    ls -l dist
