#!/usr/bin/env bash
# Makes Docker usable for `MATCARE_TEST_DOCKER=1 go test ./...` on a fresh
# Debian machine (run as root), and builds the matcare-ferretdb:test image.
#
#  - If `docker info` already works, the daemon is left alone.
#  - Otherwise docker.io is installed with apt-get if dockerd is missing, and
#    dockerd is started in the background (setsid) with the vfs storage driver
#    and without iptables, logging to $MATCARE_DOCKERD_LOG
#    (default /tmp/matcare-dockerd.log). The script waits up to 60 s for it.
#  - The image is (re)built from the working tree with
#    deploy/ferretdb/build-image.sh every time: nothing is pulled from a
#    registry and a rebuild takes seconds, so the image never goes stale.
#
# Safe to run repeatedly and concurrently (a lock serialises the daemon start).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log=${MATCARE_DOCKERD_LOG:-/tmp/matcare-dockerd.log}
PATH=$PATH:/usr/sbin:/sbin

say() { printf '.ci/docker.sh: %s\n' "$*" >&2; }

docker_ok() { docker info >/dev/null 2>&1; }

wait_for_docker() {
	local deadline=$((SECONDS + 60))
	until docker_ok; do
		if ((SECONDS >= deadline)); then
			say "docker info still fails after 60 s; last lines of $log:"
			tail -n 30 "$log" >&2 || true
			return 1
		fi
		sleep 1
	done
}

start_docker() {
	if ! command -v dockerd >/dev/null 2>&1; then
		say "installing docker.io"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update
		apt-get install -y --no-install-recommends docker.io
	fi
	if ! command -v docker >/dev/null 2>&1; then
		say "dockerd is installed but the docker client is not"
		return 1
	fi

	# Another dockerd may be starting already (pid file of a live process).
	if [[ -s /var/run/docker.pid ]] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then
		say "dockerd (pid $(cat /var/run/docker.pid)) is already running; waiting for it"
	else
		say "starting dockerd, log in $log"
		setsid dockerd --storage-driver=vfs --iptables=false </dev/null >>"$log" 2>&1 &
		disown || true
	fi
	wait_for_docker
}

started=$SECONDS
if docker_ok; then
	say "docker is already running"
else
	exec 9>/tmp/matcare-docker.lock
	flock 9
	if docker_ok; then
		say "docker was started meanwhile"
	else
		start_docker
	fi
	flock -u 9
	say "docker is ready after $((SECONDS - started)) s"
fi

"$root/deploy/ferretdb/build-image.sh" matcare-ferretdb:test
say "done in $((SECONDS - started)) s"
