# custody: the two commands that matter are `make run` and `make test`.
GO ?= go
STORE ?= sqlite:./data/custody.db
LISTEN ?= :8080

.PHONY: run test lint bench bench-http bench-projections bench-nationwide bench-tlog build cover fuzz

run: ## serve on the embedded SQLite store (DEMO=1 loads the demo data set first)
	$(GO) run ./cmd/custody serve --store $(STORE) --listen $(LISTEN) $(if $(DEMO),--demo,)

test: ## every test, with the race detector
	$(GO) test -race -count=1 -timeout 30m ./...

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

build:
	$(GO) build -o bin/custody ./cmd/custody

bench: ## PostgreSQL append against plain INSERT, interleaved rounds (median, range, paired ratio); allocations per write request
	$(GO) test -run '^$$' -bench 'BenchmarkAppend$$' -benchtime 1x -timeout 30m ./eventstore/postgres/
	$(GO) test -run '^$$' -bench 'BenchmarkWriteRequest$$' -benchmem -benchtime 2000x -count 3 ./api/

bench-http: ## HTTP appends against store appends in one process, interleaved (HTTP ÷ store), on STORE
	$(GO) run ./cmd/custody bench --compare --store $(STORE)

bench-projections: ## rebuild over one million events (CUSTODY_BENCH_EVENTS to change) and projection lag
	$(GO) test -run '^$$' -bench 'Rebuild|Lag' -benchtime 1x -timeout 60m ./projections/

bench-nationwide: ## PostgreSQL at NATIONWIDE events (default 1000000; the issue's 10000000): rebuild, query p50/p95/p99, size on disk (KEEP=schema keeps the data set)
	CUSTODY_BENCH_NATIONWIDE=$(or $(NATIONWIDE),1000000) CUSTODY_BENCH_NATIONWIDE_SCHEMA=$(KEEP) $(GO) test -v -run '^$$' -bench 'BenchmarkNationwide$$' -benchtime 1x -timeout 600m ./projections/

bench-tlog: ## the verifiable log: appends with/without the sequencer (in process, and apart on the other CPU; CUSTODY_BENCH_TREE_PG: a second server for its tree), its cost per event, catch-up, checkpoint lag, proofs on 1M leaves
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./projections/transparency/

cover: ## statement coverage of domain/
	$(GO) test -coverprofile=cover.out ./domain/... && $(GO) tool cover -func=cover.out | tail -1

fuzz: ## a short run of the event-decoding fuzzer
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./domain/
