# pwndex — make run | make test | make bench | make fuzz
# Everything builds from Go modules; sample data is generated locally by a
# seeded generator (`pwndex bench gen`), never downloaded.

GO           ?= go
BIN          := bin/pwndex
DATA         := data
ADDR         ?= 127.0.0.1:8080
SEED         ?= 1
SAMPLE_HASHES ?= 200000
SAMPLE_PEOPLE ?= 20000
TEST_TIMEOUT ?= 12m
FUZZTIME     ?= 10s
TORTURE      ?= full
BENCH_FLAGS  ?=

# The index is complete once this marker exists (written after the last ingest).
SAMPLE_MARK  := $(DATA)/.pwndex-sample-complete

.PHONY: all build install run sample test vet staticcheck bench fuzz torture clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/pwndex

# sample: generate synthetic Pwned Passwords files (SHA-1, NTLM) and a breach
# dump with its manifest into a temporary directory, ingest them into ./data
# and delete the plaintext inputs. Skipped when ./data is already complete;
# an interrupted run is completed by the next one (ingest is idempotent).
sample: build
	@if [ -f $(SAMPLE_MARK) ]; then \
		echo "pwndex: reusing the index in ./$(DATA)"; \
	else \
		set -e; src=$$(mktemp -d); trap 'rm -rf "$$src"' EXIT; \
		echo "pwndex: generating sample data (seed $(SEED)) and indexing it into ./$(DATA)"; \
		$(BIN) bench gen --kind hibp --hash sha1 --n $(SAMPLE_HASHES) --seed $(SEED) --out "$$src/pwned-passwords-sha1.txt"; \
		$(BIN) bench gen --kind hibp --hash ntlm --n $(SAMPLE_HASHES) --seed $(SEED) --out "$$src/pwned-passwords-ntlm.txt"; \
		$(BIN) bench gen --kind dump --name SyntheticBreach --n $(SAMPLE_PEOPLE) --seed $(SEED) --out "$$src/dump"; \
		$(BIN) ingest --index ./$(DATA) --quiet "$$src/pwned-passwords-sha1.txt"; \
		$(BIN) ingest --index ./$(DATA) --quiet "$$src/pwned-passwords-ntlm.txt"; \
		$(BIN) ingest --index ./$(DATA) --quiet --manifest "$$src/dump/manifest.json" \
			"$$src/dump/SyntheticBreach.csv" "$$src/dump/SyntheticBreach-combo.txt"; \
		touch $(SAMPLE_MARK); \
	fi

run: sample
	@echo "pwndex: serving ./$(DATA) on http://$(ADDR)/  (Ctrl-C to stop)"
	$(BIN) serve --index ./$(DATA) --addr $(ADDR)

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) tool staticcheck ./...

# test: go vet, staticcheck and the race-enabled tests. The tests run with
# -v into a temporary file (same run time): the target prints one line a
# package, the failures, and last, loudly, every integration test skipped
# for a missing dependency (browser, npm clients, MinIO, nginx, mounts) with
# its reason. Under CI=true such a test fails instead of skipping.
test: vet staticcheck
	@out=$$(mktemp); trap 'rm -f "$$out"' EXIT; \
	$(GO) test -race -timeout $(TEST_TIMEOUT) -v ./... >"$$out" 2>&1; rc=$$?; \
	grep -E '^(ok|FAIL|\?) ' "$$out"; \
	if [ $$rc -ne 0 ]; then \
		grep -E '^(--- FAIL|panic:)|^ +[a-zA-Z0-9_]+_test\.go:[0-9]+:' "$$out" | grep -v 'SKIPPING:' | head -200; \
	fi; \
	skips=$$(grep -E 'SKIPPING:' "$$out" | sed -E 's/^ +[a-zA-Z0-9_]+_test\.go:[0-9]+: //' | sort -u); \
	if [ -n "$$skips" ]; then \
		echo; echo "======== SKIPPED integration tests (missing dependency; CI=true makes these fail) ========"; \
		echo "$$skips"; \
		echo "========================================================================================="; \
	fi; \
	exit $$rc

# install: copy bin/pwndex to $(PREFIX)/bin (default /usr/local/bin).
PREFIX ?= /usr/local
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/pwndex

# bench: full sizes (10M hashes, 4096 dense buckets, 5 s load runs, 3
# repetitions); prints one table of medians against the targets. The raw
# samples go to bin/bench.txt for `go tool benchstat bin/bench.txt`.
bench: build
	$(BIN) bench --raw bin/bench.txt $(BENCH_FLAGS)

# torture: the reliability suite, every TestTorture* test of every package
# with PWNDEX_TORTURE=$(TORTURE) ("short" in CI: well under 3 minutes;
# "full": more and longer runs). Each test prints result rows
# "TORTURE<TAB>test<TAB>runs<TAB>survived<TAB>figure" on stdout; this target
# prints them as one table and fails if any torture test failed. Some tests
# mount a tmpfs or a read-only bind mount: they need root (they skip with a
# message otherwise, and fail under CI=true).
torture:
	@out=$$(mktemp); trap 'rm -f "$$out"' EXIT; \
	PWNDEX_TORTURE=$(TORTURE) $(GO) test -count=1 -timeout 60m -run '^TestTorture' -v ./... >"$$out" 2>&1; rc=$$?; \
	awk -F'\t' 'BEGIN { printf "%-28s %6s %9s  %s\n", "test", "runs", "survived", "figure" } \
		/^TORTURE\t/ { printf "%-28s %6s %9s  %s\n", $$2, $$3, $$4, $$5 }' "$$out"; \
	grep -E '^SKIPPING' "$$out" | sort -u || true; \
	if [ $$rc -ne 0 ]; then \
		grep -E '^(--- FAIL|FAIL|panic:|ok )|^ +[a-z_]+_test\.go:[0-9]+:' "$$out" | head -80; \
		echo "torture: FAILED (PWNDEX_TORTURE=$(TORTURE))"; exit 1; \
	fi

# fuzz: every Fuzz target of every package, FUZZTIME each.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
			$(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg; \
		done; \
	done

clean:
	rm -rf bin
