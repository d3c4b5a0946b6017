#!/usr/bin/env bash
# Builds the matcare-ferretdb image from a static build of ./deploy/ferretdb.
#
# Usage: deploy/ferretdb/build-image.sh [TAG]   (default matcare-ferretdb:test)
#
# Needs go and a running Docker daemon. Pulls nothing: the Dockerfile starts
# FROM scratch and only copies the binary built here.
set -euo pipefail

tag=${1:-matcare-ferretdb:test}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

ctx=$(mktemp -d "${TMPDIR:-/tmp}/matcare-ferretdb-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT

# -buildvcs=false: no git needed (and no "dubious ownership" failures in CI).
(cd "$root" && CGO_ENABLED=0 go build -buildvcs=false -ldflags='-s -w' \
	-o "$ctx/ferretdb" ./deploy/ferretdb)
cp "$root/deploy/ferretdb/Dockerfile" "$ctx/Dockerfile"

docker build --pull=false -t "$tag" "$ctx"

# Remove the untagged images that earlier builds of this image left behind.
docker image prune -f --filter label=org.matcare.image=ferretdb >/dev/null
