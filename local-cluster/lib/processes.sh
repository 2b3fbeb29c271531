# Process, port and PKI helpers of the local control plane. Sourced after common.sh.
# shellcheck shell=bash

kctl() { "$KUBE_BIN_DIR/kubectl" --kubeconfig="$STATE_DIR/kubeconfig" --request-timeout=5s "$@"; }

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

gen_pki() {
  local dir=$1
  command -v openssl >/dev/null || die "openssl is missing (Debian package 'openssl')"
  (
    cd "$dir"
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -subj "/CN=migrate-gate-local-ca" -days 30 -out ca.crt \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    issue() { # name subject ext
      openssl ecparam -name prime256v1 -genkey -noout -out "$1.key" 2>/dev/null
      openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
      printf '%s\n' "$3" > "$1.ext"
      openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -extfile "$1.ext" \
        -out "$1.crt" 2>/dev/null
      rm -f "$1.csr" "$1.ext"
    }
    issue apiserver "/CN=kube-apiserver" "$(printf '%s\n' \
      "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" \
      "extendedKeyUsage=serverAuth" "keyUsage=critical,digitalSignature")"
    issue admin "/O=system:masters/CN=migrate-gate-admin" "$(printf '%s\n' \
      "extendedKeyUsage=clientAuth" "keyUsage=critical,digitalSignature")"
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    chmod 600 ./*.key
  ) || die "could not create the cluster certificates in $dir"
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
  setsid bash -c "exec $(cat "$STATE_DIR/cmd/$name")" >> "$log_file" 2>&1 < /dev/null &
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

# wait_for COMPONENT SECONDS CHECK...: polls CHECK until it succeeds; fails naming the component and
# its log when the deadline passes or when any started component has exited.
wait_for() {
  local what=$1 seconds=$2; shift 2
  local deadline=$(( $(date +%s) + seconds ))
  until "$@" >/dev/null 2>&1; do
    for pid_file in "$STATE_DIR"/pids/*.pid; do
      local name; name=$(basename "$pid_file" .pid)
      if ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
        component_failed "$name" "exited (while waiting for $what to become ready)"
      fi
    done
    if (( $(date +%s) >= deadline )); then
      component_failed "$what" "not ready after ${seconds}s"
    fi
    sleep 0.2
  done
}

component_failed() {
  local name=$1 why=$2 log_file="$STATE_DIR/logs/$1.log"
  printf '[local-cluster] error: %s %s. Last lines of its log %s:\n' "$name" "$why" "$log_file" >&2
  [[ -f "$log_file" ]] && tail -n 15 "$log_file" | sed 's/^/    /' >&2
  if grep -qiE 'address already in use|bind: ' "$log_file" 2>/dev/null; then
    printf '[local-cluster] hint: another process holds a port this component needs (bind error above); free it, or run local-cluster/up again to pick new random ports.\n' >&2
  fi
  return 1
}

apiserver_ready() {
  source "$STATE_DIR/ports.env"
  curl -fsS --max-time 3 --cacert "$STATE_DIR/pki/ca.crt" --cert "$STATE_DIR/pki/admin.crt" --key "$STATE_DIR/pki/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz" >/dev/null
}

node_ready() {
  [[ "$(kctl get node kwok-node-0 -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}')" == "True" ]]
}

components_alive() {
  for c in etcd kube-apiserver kube-controller-manager kube-scheduler kwok; do component_alive "$c" || return 1; done
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
