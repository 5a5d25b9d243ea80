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

# What CI runs.
ci:
    bash .ci/run
