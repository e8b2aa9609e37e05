# Highway's commands. Every command the README shows is a target here, and
# nothing else is needed on a fresh machine: the targets install what they use
# (npm packages in scripts/node, Java when missing, Go tools in build/tools).

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

STATICCHECK_VERSION := v0.8.2
BENCHSTAT_VERSION := v0.0.0-20260908200009-22c9c6c9d4da
TOOLS := $(CURDIR)/build/tools
CDK := $(CURDIR)/scripts/node/node_modules/.bin/cdk

# The CDK CLI and jsii run offline and quietly.
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_DEPRECATED := quiet

# Suites whose subtests `make test` counts by name, so its output shows that
# the ledger contract ran against both implementations.
SUITES := TestContract/[^/]+$$

.PHONY: all build test demo synth synth-platform lint clean setup bootstrap deploy invoke fuzz highway bench bench-compare

all: build

## build: every functions/<name> to build/<name>/bootstrap (linux/arm64, as shipped)
build:
	scripts/build.sh

## highway: the local command, as build/highway (gate eval, nag, demo)
highway:
	go build -o build/highway ./scripts/highway

## demo: replay the sample scenario in-process and print the ledger's timeline
## (it compiles the highway command into build/highway first, and says so)
demo:
	@mkdir -p build
	@scripts/services.sh progress "compiling the highway command into build/highway (a minute or two the first time, seconds after)" -- \
		go build -o build/highway ./scripts/highway
	build/highway demo -html build/dora.html

## test: start DynamoDB Local and the RIE, run every test, stop them; nothing
## skips. The functions' AWS calls, recorded at the wire into build/calls, are
## then checked against the synthesized IAM policies
## (TestEveryAWSCallIsAllowed, once every other package is done).
## Each run records into a folder of its own there, removed when it ends, so
## that runs side by side keep apart. scripts/testrun keeps the linked test
## binaries in build/cache; go vet runs beside the tests. CPU=1 prints each
## package's CPU time
CALLS := $(CURDIR)/build/calls
test:
	@echo "make test: every package's tests against DynamoDB Local, the Lambda RIE and Chromium," \
		"about a minute and a half with warm caches on 2 cores (more under load, and the first time while Go compiles and links); a line per package as it finishes"
	@start=$$(date +%s); calls=$(CALLS)/run-$$$$; rm -rf $$calls; mkdir -p $$calls; trap 'rm -rf '$$calls EXIT; \
	HIGHWAY_CALLS=$$calls scripts/services.sh run -- bash -c 'set -o pipefail; \
		{ go vet ./... >&2 & vet=$$!; \
		go run ./scripts/testrun -p 3 $(if $(CPU),-cpu) -timeout 20m -after-others github.com/highwayhq/highway/infra/stacks -shipped functions/...,scripts/hello ./...; \
		rc=$$?; wait $$vet && exit $$rc; } | go run ./scripts/testreport -noskip -suites "$(SUITES)"'; \
	echo "make test: $$(( $$(date +%s) - start )) s"

## test-long: make test with the long simulations at full size (HIGHWAY_LONG=1):
## 40 days of hourly DORA tallies, 1,000 stacks swept for drift, 1,000 alarm
## transitions; make test runs each short, asserting the same properties
.PHONY: test-long
test-long:
	@echo "make test-long: make test with the long simulations at full size (HIGHWAY_LONG=1), a few minutes more"
	@HIGHWAY_LONG=1 $(MAKE) --no-print-directory test

## fuzz: run every fuzz target for FUZZTIME each (make test runs their seed corpora only)
FUZZTIME ?= 60s
fuzz:
	@for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' shared functions scripts | xargs -n1 dirname | sort -u); do \
		for target in $$(grep -h -o '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go | cut -d' ' -f2); do \
			echo "fuzz ./$$dir $$target for $(FUZZTIME)"; \
			go test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10x ./$$dir || exit 1; \
		done; \
	done

## bench: every function as it ships, in one run: sizes, cold start and warm
## invokes under the RIE, peak RSS, handler benchmarks, the largest binary by
## module; one table with the budgets, build/bench/bench.json and bench.txt
## (BUDGET=strict: exit non-zero on a missed budget)
bench: setup
	go run ./scripts/bench -out build/bench

## bench-compare: make bench at BASE (a git ref) and here, then benchstat them
## (six samples of each handler benchmark and size; one of each invoke run)
bench-compare: setup
	@[ -n "$(BASE)" ] || { echo "usage: make bench-compare BASE=<git ref>"; exit 2; }
	@[ -x $(TOOLS)/benchstat ] || GOBIN=$(TOOLS) go install golang.org/x/perf/cmd/benchstat@$(BENCHSTAT_VERSION)
	rm -rf build/bench-base; git worktree prune
	git worktree add --detach build/bench-base $(BASE)
	@[ -f build/bench-base/scripts/bench/main.go ] || { echo "$(BASE) has no scripts/bench: make bench came later"; git worktree remove --force build/bench-base; exit 2; }
	cp -r scripts/node/node_modules build/bench-base/scripts/node/ 2>/dev/null || true
	(cd build/bench-base && BENCH_COUNT=6 go run ./scripts/bench -out $(CURDIR)/build/bench-base-out) || { git worktree remove --force build/bench-base; exit 1; }
	git worktree remove --force build/bench-base
	BENCH_COUNT=6 go run ./scripts/bench -out build/bench
	$(TOOLS)/benchstat build/bench-base-out/bench.txt build/bench/bench.txt

## bench-scale: the dora, heatmap and drift functions at platform size (100 apps
## x 3 environments over 25 accounts, 90 days of history in DynamoDB Local),
## each phase alone in a child process: time (wall, CPU, and the drift pacing's
## simulated time), peak RSS and items read, against each function's timeout
## and memory (SCALE_COUNT samples of each; filling the tables takes minutes)
SCALE_COUNT ?= 1
.PHONY: bench-scale
bench-scale: setup
	scripts/services.sh run -- go test -run '^$$' -bench '^BenchmarkScale' -benchtime $(SCALE_COUNT)x -p 1 -timeout 60m -v \
		./shared/dora ./shared/drift | grep -v '^=== '

## synth: build, then synthesize the hub and spoke stacks to cdk.out (cdk-nag on)
synth: build setup
	$(CDK) synth --no-notices --quiet
	@ls cdk.out/*.template.json
	go run ./scripts/highway nag cdk.out

## synth-platform: synthesize, with cdk-nag, a platform of APPS apps (default
## 100: 60% delivered from one CI account, the rest over 20 team accounts)
## into build/platform-APPS, and say how long the synth took
APPS ?= 100
synth-platform: build setup
	go run ./scripts/platform -apps $(APPS) -o build/platform-$(APPS).yaml
	@start=$$(date +%s%N); \
	$(CDK) synth --no-notices --quiet -c policy=build/platform-$(APPS).yaml -o build/platform-$(APPS); \
	echo "synth-platform: $(APPS) apps synthesized in $$(( ($$(date +%s%N) - start) / 1000000 )) ms"
	go run ./scripts/highway nag build/platform-$(APPS)

## lint: gofmt check, go vet, staticcheck (pinned)
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	go vet ./...
	@[ -x $(TOOLS)/staticcheck ] || GOBIN=$(TOOLS) go install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(TOOLS)/staticcheck ./...

## bootstrap: prepare one account and region for CDK deployments (ENV=aws://ACCOUNT/REGION)
bootstrap: setup
	@[ -n "$(ENV)" ] || { echo "usage: make bootstrap ENV=aws://ACCOUNT/REGION"; exit 2; }
	$(CDK) bootstrap --no-notices $(ENV)

## deploy: synthesize, then deploy the named stacks (STACKS="highway-hub ...")
deploy: synth
	@[ -n "$(STACKS)" ] || { echo "usage: make deploy STACKS=highway-hub (see cdk.out/*.template.json)"; exit 2; }
	$(CDK) deploy --app cdk.out --no-notices $(STACKS)

## invoke: build one function for this machine, run it under the Lambda RIE and
## invoke it with EVENT (events/ files, several sent in order), against a ledger
## table in DynamoDB Local and the wire-level fake answering from events/; prints
## each answer and exits non-zero when one failed. FUNCTION alone lists its
## samples; POLICY=FILE ships another policy than infra/highway.yaml
invoke:
	@[ -n "$(FUNCTION)" ] || { echo "usage: make invoke FUNCTION=push EVENT=events/codecommit-push.json"; exit 2; }
	@scripts/services.sh invoke $(if $(POLICY),-policy $(POLICY)) $(FUNCTION) $(EVENT)

## setup: install the local tools (npm packages, Java if missing, the RIE)
setup:
	scripts/services.sh setup

clean:
	rm -rf build cdk.out
