#!/usr/bin/env bash
# Flink Manager on a local kind cluster, end to end (README.md explains each step):
#   1. a kind cluster;
#   2. a Flink 2.3 session cluster in namespace `flink` (examples/kind/flink);
#   3. the CRDs, then the operator: in the cluster (default; builds the image and loads it into kind) or,
#      with --local, on this machine against the cluster;
#   4. the quickstart (examples/quickstart) in namespace `flink`, with the FlinkCluster pointed at that Flink
#      and the Artifact at the example job's JAR.
#
#   examples/kind/up.sh            operator in the cluster; waits until the job runs
#   examples/kind/up.sh --local    operator in the foreground on this machine (Ctrl-C stops it)
#
# Needs docker, kind and kubectl; the JAR is built by `make infra-flink infra-job` (Java 17), or given as $JAR.
# Settings: KIND_CLUSTER (default flink-manager), IMAGE (default ghcr.io/flink-manager/flink-manager:0.1.0).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cluster="${KIND_CLUSTER:-flink-manager}"
image="${IMAGE:-ghcr.io/flink-manager/flink-manager:0.1.0}"
mode=in-cluster
case "${1:-}" in
    "") ;;
    --local) mode=local ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
esac

say() { printf '\n==> %s\n' "$*"; }
need() { command -v "$1" >/dev/null || { echo "$1 is required: $2" >&2; exit 1; }; }
need kind "https://kind.sigs.k8s.io/docs/user/quick-start/#installation"
need kubectl "https://kubernetes.io/docs/tasks/tools/"
[ "$mode" = local ] || need docker "https://docs.docker.com/get-docker/"
k() { kubectl --context "kind-$cluster" "$@"; }

# The example job's JAR and its digest (the Artifact's sha256).
jar="${JAR:-}"
if [ -z "$jar" ]; then
    say "Building the example job JAR (examples/jobs/build.sh)"
    jar="$("$root/examples/jobs/build.sh" | tail -n 1)"
fi
[ -f "$jar" ] || { echo "no JAR at $jar" >&2; exit 1; }
jar="$(cd "$(dirname "$jar")" && pwd)/$(basename "$jar")"
sha256="$(sha256sum "$jar" | cut -d ' ' -f 1)"

say "kind cluster $cluster"
if kind get clusters | grep -qx "$cluster"; then
    echo "exists"
else
    kind create cluster --name "$cluster" --config "$here/cluster.yaml"
fi

say "Flink 2.3 session cluster in namespace flink"
k apply -k "$here/flink"
k -n flink rollout status deployment/flink-jobmanager --timeout=300s
k -n flink rollout status deployment/flink-taskmanager --timeout=300s

say "CRDs (the four kinds and kopf's peering)"
k apply -f "$root/crds/" -f "$root/deploy/kopf-peering-crds.yaml"
k wait --for=condition=Established --timeout=60s \
    crd/flinkclusters.flinkmanager.io crd/artifacts.flinkmanager.io crd/jobspecs.flinkmanager.io \
    crd/executions.flinkmanager.io crd/clusterkopfpeerings.kopf.dev crd/kopfpeerings.kopf.dev

if [ "$mode" = in-cluster ]; then
    say "Operator image $image, loaded into kind"
    docker build -f "$root/deploy/Dockerfile" -t "$image" "$root"
    kind load docker-image "$image" --name "$cluster"

    say "Operator in namespace flink-manager"
    k apply -f "$root/deploy/namespace.yaml"
    k -n flink-manager create configmap example-job-jar --from-file="flink-manager-example-job.jar=$jar" \
        --dry-run=client -o yaml | k apply -f -
    k apply -k "$here/operator"
    k -n flink-manager rollout status deployment/flink-manager --timeout=180s
    rest_url="http://flink-jobmanager.flink.svc:8081"
    artifact_url="file:///var/run/flink-manager/jars/flink-manager-example-job.jar"
else
    rest_url="http://127.0.0.1:8081"
    artifact_url="file://$jar"
fi

say "Quickstart in namespace flink"
overlay="$root/.cache/kind/quickstart"
mkdir -p "$overlay"
cat > "$overlay/kustomization.yaml" <<EOF
# Written by examples/kind/up.sh: the quickstart, pointed at the kind cluster's Flink and the example JAR.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: flink
resources:
  - ../../../examples/quickstart
patches:
  - target: {kind: FlinkCluster, name: default}
    patch: |-
      - {op: replace, path: /spec/restUrl, value: "$rest_url"}
  - target: {kind: Artifact, name: stateful-counter}
    patch: |-
      - {op: replace, path: /spec/url, value: "$artifact_url"}
      - {op: replace, path: /spec/sha256, value: "$sha256"}
EOF
k apply -k "$overlay"

if [ "$mode" = in-cluster ]; then
    say "Waiting for the job to run"
    k -n flink wait --for=condition=Ready fc/default fa/stateful-counter fjs/stateful-counter --timeout=180s
    k -n flink wait --for=condition=Ready fex/stateful-counter-1 --timeout=300s
    k -n flink get flink
    cat <<EOF

Flink Manager runs stateful-counter-1 on the kind cluster $cluster. Try:
  kubectl -n flink get fex stateful-counter-1 -o jsonpath='{.status.history}'
  kubectl -n flink patch fex stateful-counter-1 --type merge -p '{"spec":{"state":"Stopped"}}'
  kubectl -n flink-manager logs deployment/flink-manager
Flink's web UI: kubectl -n flink port-forward service/flink-jobmanager 8081, then http://localhost:8081
Remove everything: kind delete cluster --name $cluster
EOF
else
    say "Operator on this machine (Ctrl-C stops it), Flink REST through a port-forward on 127.0.0.1:8081"
    k -n flink port-forward service/flink-jobmanager 8081:8081 >/dev/null &
    forward=$!
    trap 'kill "$forward" 2>/dev/null || true' EXIT
    kubectl config use-context "kind-$cluster" >/dev/null
    echo "In another terminal: kubectl -n flink get flink -w"
    # The operator reads its settings from FLINK_MANAGER_* variables; standalone: no peering with other replicas.
    FLINK_MANAGER_ALLOW_INSECURE_ARTIFACTS=true "$root/.venv/bin/kopf" run --standalone --all-namespaces \
        -m flink_manager.controller
fi
