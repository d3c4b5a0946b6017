# matcare: a FROM scratch image of the static matcare binary.
#
# The image has no build stage (no base image has to be pulled): build the
# binary and stage the CA certificates first, then build the image, all from
# the repository root:
#
#   CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$(git describe --always --dirty)" -o matcare ./cmd/matcare
#   cp /etc/ssl/certs/ca-certificates.crt ./ca-certificates.crt
#   docker build -t matcare:dev .
#
# CGO_ENABLED=0 matters: a dynamically linked binary cannot start in a
# scratch image (it fails with "no such file or directory"). `file matcare`
# must say "statically linked". The CA certificates are what Go's TLS uses
# to verify MongoDB servers (mongodb+srv:// or tls=true); without TLS they
# are unused but harmless.
#
# Run it with MongoDB (see deploy/):
#
#   docker run --rm -p 8080:8080 -e MONGODB_URI='mongodb://db:27017/' \
#     -e MATCARE_BASE_URL=https://fhir.example.org/fhir matcare:dev
#
# or alone with the embedded storage under the /data volume:
#
#   docker run --rm -p 8080:8080 -v matcare-data:/data matcare:dev
#
# The process runs as 65532:65532. A named volume takes the image's
# ownership of /data; a host directory mounted there must be writable by
# uid 65532 (chown 65532:65532 DIR).

# An empty stage: copying it creates /data owned by the runtime user, with
# BuildKit and with the legacy builder alike (WORKDIR would leave /data
# owned by root under the legacy builder, and a named volume would inherit
# that).
FROM scratch AS empty

FROM scratch

COPY --from=empty --chown=65532:65532 / /data/
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY matcare /matcare

# Inside a container matcare must listen on all interfaces; the default
# (127.0.0.1) would be unreachable from outside it. MATCARE_BASE_URL should
# be set to the public FHIR base for Location headers and Bundle links.
ENV MATCARE_ADDR=0.0.0.0:8080 \
    MATCARE_DATA_DIR=/data

USER 65532:65532
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080

ENTRYPOINT ["/matcare"]
