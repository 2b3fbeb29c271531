# Shared settings for the local control plane scripts. Sourced, not executed.
# shellcheck shell=bash

KUBE_VERSION="v1.35.4"        # newest v1.35.x patch the Go module proxy serves (checked 2026-11-21)
KUBE_STAGING_VERSION="v0.35.4"
ETCD_VERSION="v3.6.5"         # the version k8s.io/kubernetes v1.35.4's module graph pins
KWOK_VERSION="v0.8.0"
HELM_VERSION="v3.22.0"

LOCAL_CLUSTER_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_ROOT="${MIGRATE_GATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/migrate-gate}"
KUBE_BIN_DIR="$CACHE_ROOT/kube/$KUBE_VERSION"
KWOK_BIN_DIR="$CACHE_ROOT/kwok/$KWOK_VERSION"
HELM_BIN_DIR="$CACHE_ROOT/helm/$HELM_VERSION"
STATE_DIR="${MIGRATE_GATE_CLUSTER_DIR:-${XDG_RUNTIME_DIR:-/tmp}/migrate-gate-cluster-$(id -u)}"

log() { printf '[local-cluster] %s\n' "$*" >&2; }
die() { printf '[local-cluster] error: %s\n' "$*" >&2; exit 1; }

require_go() {
  command -v go >/dev/null 2>&1 || die "the Go toolchain is missing: 'go' is not on PATH. Install Go >= 1.25 (https://go.dev/dl) or put an already built cache in $CACHE_ROOT."
}
