# Process, port and PKI helpers of the local control plane. Sourced after common.sh.
# shellcheck shell=bash

kctl() { "$KUBE_BIN_DIR/kubectl" --kubeconfig="$STATE_DIR/kubeconfig" --cache-dir="$STATE_DIR/kubectl-cache" --request-timeout=5s "$@"; }

# Prints N distinct free TCP ports on 127.0.0.1 (asked from the kernel, then released).
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# issue_cert DIR NAME SUBJECT EXT_LINE...: an EC key DIR/NAME.key and a certificate DIR/NAME.crt for
# SUBJECT signed by DIR/ca.{crt,key}, with the given openssl extension lines.
issue_cert() {
  local dir=$1 name=$2 subject=$3; shift 3
  (
    cd "$dir"
    openssl ecparam -name prime256v1 -genkey -noout -out "$name.key" 2>/dev/null
    openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr" 2>/dev/null
    printf '%s\n' "$@" > "$name.ext"
    openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile "$name.ext" \
      -out "$name.crt" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
    chmod 600 "$name.key"
  ) || die "could not create the certificate $name in $dir"
}

# gen_pki DIR [EXTRA_SANS]: cluster CA, API server serving certificate (127.0.0.1, the kubernetes
# Service's names and 10.96.0.1, plus EXTRA_SANS such as "IP:10.244.0.1,"), admin client, SA keys.
gen_pki() {
  local dir=$1 extra_sans=${2:-}
  command -v openssl >/dev/null || die "openssl is missing (Debian package 'openssl')"
  (
    cd "$dir"
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -subj "/CN=migrate-gate-local-ca" -days 30 -out ca.crt \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    chmod 600 ./*.key
  ) || die "could not create the cluster certificates in $dir"
  issue_cert "$dir" apiserver "/CN=kube-apiserver" \
    "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,${extra_sans}DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
    "extendedKeyUsage=serverAuth" "keyUsage=critical,digitalSignature"
  issue_cert "$dir" admin "/O=system:masters/CN=migrate-gate-admin" \
    "extendedKeyUsage=clientAuth" "keyUsage=critical,digitalSignature"
}

# write_kubeconfig FILE SERVER CERT KEY: a kubeconfig for a client certificate of the cluster CA.
write_kubeconfig() {
  local file=$1 server=$2 cert=$3 key=$4
  cat > "$file" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: migrate-gate-local
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 < "$STATE_DIR/pki/ca.crt")
users:
- name: admin
  user:
    client-certificate-data: $(base64 -w0 < "$cert")
    client-key-data: $(base64 -w0 < "$key")
contexts:
- name: migrate-gate-local
  context:
    cluster: migrate-gate-local
    user: admin
current-context: migrate-gate-local
KCFG
  chmod 600 "$file"
}

# start_component NAME COMMAND [ARGS...]: runs it in its own session, output in logs/NAME.log,
# its command line kept in cmd/NAME so restart_component can start it again identically.
start_component() {
  local name=$1; shift
  printf '%q ' "$@" > "$STATE_DIR/cmd/$name"
  launch_component "$name"
}

launch_component() {
  local name=$1 log_file="$STATE_DIR/logs/$1.log"
  printf '\n--- %s starting %s\n' "$(date -u +%FT%TZ)" "$name" >> "$log_file"
  setsid bash -c "exec $(cat "$STATE_DIR/cmd/$name")" >> "$log_file" 2>&1 < /dev/null 9<&- &
  echo $! > "$STATE_DIR/pids/$name.pid"
}

component_alive() {
  local pid_file="$STATE_DIR/pids/$1.pid"
  [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

# Stops a component by its pid (the whole session it leads): TERM, then KILL after 10 s.
stop_component() {
  local name=$1 pid_file="$STATE_DIR/pids/$1.pid" pid
  [[ -f "$pid_file" ]] || return 0
  pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) did not stop on SIGTERM within 10s; killing it"
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pid_file"
}

# stop_components NAME...: stop_component for several at once (TERM to all, then wait for all).
stop_components() {
  local name pid_file pids=() names=()
  for name in "$@"; do
    pid_file="$STATE_DIR/pids/$name.pid"
    [[ -f "$pid_file" ]] || continue
    pids+=("$(cat "$pid_file")"); names+=("$name")
    kill -TERM -- "-${pids[-1]}" 2>/dev/null || kill -TERM "${pids[-1]}" 2>/dev/null || true
  done
  local i alive
  for _ in $(seq 100); do
    alive=false
    for i in "${!pids[@]}"; do kill -0 "${pids[$i]}" 2>/dev/null && alive=true; done
    $alive || break
    sleep 0.1
  done
  for i in "${!pids[@]}"; do
    if kill -0 "${pids[$i]}" 2>/dev/null; then
      log "${names[$i]} (pid ${pids[$i]}) did not stop on SIGTERM within 10s; killing it"
      kill -KILL -- "-${pids[$i]}" 2>/dev/null || kill -KILL "${pids[$i]}" 2>/dev/null || true
    fi
    rm -f "$STATE_DIR/pids/${names[$i]}.pid"
  done
}

# wait_for COMPONENT SECONDS CHECK...: polls CHECK until it succeeds; fails naming the component and
# its log when the deadline passes or when any started component has exited.
wait_for() {
  local what=$1 seconds=$2; shift 2
  local deadline=$(( $(date +%s) + seconds ))
  until "$@" >/dev/null 2>&1; do
    all_started_alive "$what"
    if (( $(date +%s) >= deadline )); then
      component_failed "$what" "not ready after ${seconds}s"
    fi
    sleep 0.2
  done
}

# all_started_alive WHAT: fails naming the first started component that has exited.
all_started_alive() {
  local pid_file name
  for pid_file in "$STATE_DIR"/pids/*.pid; do
    [[ -f "$pid_file" ]] || continue
    name=$(basename "$pid_file" .pid)
    if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
      component_failed "$name" "exited (while waiting for $1 to become ready)"
      return 1
    fi
  done
}

component_failed() {
  local name=$1 why=$2 log_file="$STATE_DIR/logs/$1.log"
  printf '[local-cluster] error: %s %s. Last lines of its log %s:\n' "$name" "$why" "$log_file" >&2
  [[ -f "$log_file" ]] && tail -n 15 "$log_file" | sed 's/^/    /' >&2
  if grep -qiE 'address already in use|bind: ' "$log_file" 2>/dev/null; then
    if $REAL_NODE; then
      printf '[local-cluster] hint: another process holds a port this component needs (bind error above). The real node uses fixed ports (%s): free it (listeners now: %s)\n' \
        "$NODE_FIXED_PORTS_TEXT" "$(node_port_holders)" >&2
    else
      printf '[local-cluster] hint: another process holds a port this component needs (bind error above); free it, or run local-cluster/up again to pick new random ports.\n' >&2
    fi
  fi
  return 1
}

apiserver_ready() {
  source "$STATE_DIR/ports.env"
  curl -fsS --max-time 3 --cacert "$STATE_DIR/pki/ca.crt" --cert "$STATE_DIR/pki/admin.crt" --key "$STATE_DIR/pki/admin.key" \
    "https://${APISERVER_ADDRESS:-127.0.0.1}:$APISERVER_PORT/readyz" >/dev/null
}

# The node of the selected flavour: kwok's fake node, or the real node's kubelet.
cluster_node_name() { if $REAL_NODE; then echo "$NODE_NAME"; else echo kwok-node-0; fi; }

node_ready() {
  [[ "$(kctl get node "$(cluster_node_name)" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" == "True" ]]
}

# Components in start order.
cluster_components() {
  if $REAL_NODE; then
    echo etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy
  else
    echo etcd kube-apiserver kube-controller-manager kube-scheduler kwok
  fi
}

components_alive() {
  for c in $(cluster_components); do component_alive "$c" || return 1; done
}

# A running control plane whose processes are all alive is given time to become ready (one of its
# components may be restarting, e.g. a fault test restarting kube-apiserver) before it is judged.
cluster_healthy() {
  [[ -f "$STATE_DIR/ports.env" ]] && components_alive || return 1
  local deadline=$(( $(date +%s) + 90 ))
  until apiserver_ready 2>/dev/null && node_ready 2>/dev/null; do
    components_alive && (( $(date +%s) < deadline )) || return 1
    sleep 0.5
  done
}

# The real node's helpers (up/down --real-node).
source "$LOCAL_CLUSTER_DIR/lib/node.sh"
