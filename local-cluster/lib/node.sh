# The real node of `local-cluster/up --real-node`: Debian packages, binaries and images (build),
# containerd, CNI bridge, kubelet, kube-proxy and CoreDNS (up), and a teardown that leaves the host
# as it was found (down). Sourced by processes.sh; functions only.
# shellcheck shell=bash

# Debian packages the real node needs (binaries from the distribution, not built here).
NODE_PACKAGES=(containerd runc containernetworking-plugins iptables nftables iproute2 busybox-static)
CNI_BIN_DIR="${MIGRATE_GATE_CNI_BIN_DIR:-/usr/lib/cni}"
NODE_IMAGE_DIR="$CACHE_ROOT/node-images"
PAUSE_SRC_DIR="$LOCAL_CLUSTER_DIR/tools/pause"
# Sysctls the host keeps: `up` records them, `down` restores any that differ (the kubelet sets vm.* and
# kernel.panic*, the bridge plugin net.ipv4.ip_forward, ...). Counters that move on their own are left out.
NODE_SYSCTL_PREFIXES='^(vm\.|kernel\.panic|kernel\.keys\.|net\.ipv4\.|net\.ipv6\.|net\.bridge\.|net\.netfilter\.|net\.core\.)'
NODE_SYSCTL_VOLATILE='^(net\.netfilter\.nf_conntrack_count|net\.netfilter\.nf_conntrack_expect_count|net\.ipv4\.route\.|net\.ipv6\.route\.|vm\.stat_refresh|vm\.compact_memory|vm\.drop_caches)'
# Host paths the kubelet, containerd's shims or the CNI plugins create outside the state folder.
# "tree": removed with everything below when up found it missing; "empty": removed only when empty.
NODE_HOST_PATHS=(
  "/var/lib/kubelet tree"            # device-plugins/kubelet.sock (hard-coded path)
  "/var/log/containers tree"         # the kubelet's legacy container log symlinks (hard-coded path)
  "/var/log/pods tree"
  "/var/lib/cni tree"                # libcni's result cache (hard-coded; our sandboxes' entries are removed)
  "/run/containerd empty"            # containerd-shim sockets live in /run/containerd/s (hard-coded)
  "/run/containerd/s empty"
  "/var/run/netns empty"
  "/usr/libexec/kubernetes tree"
  "/run/mount tree"                  # libmount's utab, written by mount/umount (kubelet, down)
)

# node_lock: serializes up/down of the real node between processes (test JVMs starting it at once): an
# exclusive flock on the cache folder through fd 9, held until the script exits (launch_component closes
# fd 9 for the components). A script run by one holding it (up's own down) inherits
# MIGRATE_GATE_NODE_LOCKED and does not wait for itself.
node_lock() {
  [[ -n "${MIGRATE_GATE_NODE_LOCKED:-}" ]] && return 0
  command -v flock >/dev/null 2>&1 || return 0
  mkdir -p "$CACHE_ROOT"
  exec 9<"$CACHE_ROOT"
  if ! flock -n 9; then
    log "waiting for another local-cluster up/down --real-node to finish"
    flock -w 300 9 || die "another local-cluster up/down --real-node held the lock on $CACHE_ROOT for 5 min"
  fi
  export MIGRATE_GATE_NODE_LOCKED=1
}

ctr_node() { ctr --address "$STATE_DIR/containerd/containerd.sock" --namespace k8s.io "$@"; }

# --- packages ----------------------------------------------------------------------------------

node_missing_packages() {
  local p missing=()
  command -v dpkg-query >/dev/null 2>&1 || { echo "${NODE_PACKAGES[*]}"; return; }
  for p in "${NODE_PACKAGES[@]}"; do
    [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == "install ok installed" ]] || missing+=("$p")
  done
  echo "${missing[*]}"
}

# Installs the missing Debian packages with apt-get (root only); otherwise names them.
node_require_packages() {
  local missing; missing=$(node_missing_packages)
  [[ -z "$missing" ]] && return 0
  command -v apt-get >/dev/null 2>&1 \
    || die "the real node needs the Debian packages: $missing (this machine has no apt-get: install their equivalents, or use plain 'local-cluster/up')"
  (( EUID == 0 )) \
    || die "the real node needs the Debian packages: $missing. Install them as root: sudo apt-get install -y --no-install-recommends $missing"
  mkdir -p "$CACHE_ROOT"
  local apt_log="$CACHE_ROOT/apt-get.log"
  log "installing Debian packages: $missing (log: $apt_log)"
  # shellcheck disable=SC2086
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >>"$apt_log" 2>&1; then
    log "apt-get install failed; running apt-get update first"
    # shellcheck disable=SC2086
    { DEBIAN_FRONTEND=noninteractive apt-get update >>"$apt_log" 2>&1 \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >>"$apt_log" 2>&1; } \
      || { tail -n 15 "$apt_log" | sed 's/^/    /' >&2
           die "apt-get could not install $missing (log: $apt_log). Fix: apt-get update && apt-get install -y $missing"; }
  fi
  missing=$(node_missing_packages)
  [[ -z "$missing" ]] || die "still missing after apt-get install: $missing (log: $apt_log)"
}

# --- binaries and images (local-cluster/build --real-node) --------------------------------------------

# A content key of files and text: the cache name of what is built from them.
content_key() {
  { for f in "$@"; do if [[ -f "$f" ]]; then sha256sum "$f"; else printf '%s\n' "$f"; fi; done; } \
    | sha256sum | cut -c1-16
}

pause_bin() { echo "$CACHE_ROOT/pause/$(content_key "$PAUSE_SRC_DIR/go.mod" "$PAUSE_SRC_DIR/main.go")/pause"; }

build_pause() {
  local bin; bin=$(pause_bin)
  if ! ${force:-false} && [[ -x "$bin" ]]; then return 0; fi
  require_go
  log "building the pause program (tools/pause)"
  mkdir -p "$(dirname "$bin")"
  (cd "$PAUSE_SRC_DIR" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath -ldflags "-s -w" -o "$bin.partial" .) \
    || die "go build of tools/pause failed"
  mv "$bin.partial" "$bin"
}

# write_image NAME SHORT FILL INPUT WRITER_ARGS...: the archive of image NAME in the cache, written by
# lib/image-writer.py from the folder that function FILL assembles from the file INPUT; written again only
# when the writer, FILL, the arguments or INPUT (size, mtime) change. Prints its path.
write_image() {
  local name=$1 short=$2 fill=$3 input=$4; shift 4
  [[ -f "$input" ]] || die "cannot write the image $name: $input is missing"
  local key; key=$(content_key "$LOCAL_CLUSTER_DIR/lib/image-writer.py" "$name $*" "$(declare -f "$fill")" \
    "$(stat -c '%n %s %Y' "$input")")
  local out="$NODE_IMAGE_DIR/$short-$key.tar"
  if ${force:-false} || [[ ! -f "$out" ]]; then
    local root; root=$(mktemp -d)
    "$fill" "$root" "$input" || { rm -rf "$root"; die "could not assemble the $name image"; }
    mkdir -p "$NODE_IMAGE_DIR"
    python3 "$LOCAL_CLUSTER_DIR/lib/image-writer.py" --rootfs "$root" --name "$name" --out "$out" "$@" >/dev/null \
      || { rm -rf "$root"; die "could not write the image archive $out"; }
    rm -rf "$root"
    find "$NODE_IMAGE_DIR" -maxdepth 1 -name "$short-*.tar" ! -name "$(basename "$out")" -delete   # older ones
    log "wrote image $name: $out"
  fi
  echo "$out"
}

normalize_rootfs() { find "$1" -type d -exec chmod 0755 {} +; find "$1" -type f -exec chmod 0644 {} +; }

fill_pause() { install -m 0755 "$2" "$1/pause"; }

fill_coredns() { install -m 0755 "$2" "$1/coredns"; }

# busybox-static's binary and a symlink per applet, so `sh -c`, `sleep`, `wget`, `nslookup`, `httpd` work.
fill_busybox() {
  local root=$1 busybox=$2 applet
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,home,var/www}
  for applet in $("$busybox" --list-full); do
    [[ "$applet" == bin/busybox ]] && continue
    mkdir -p "$root/$(dirname "$applet")"
    ln -s /bin/busybox "$root/$applet"
  done
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/home:/bin/false' > "$root/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' > "$root/etc/group"
  printf '%s\n' 'hosts: files dns' > "$root/etc/nsswitch.conf"
  normalize_rootfs "$root"
  install -m 0755 "$busybox" "$root/bin/busybox"
  chmod 1777 "$root/tmp"; chmod 0700 "$root/root"
}

# Prints the three images' archives (pause, busybox, CoreDNS), writing the missing ones.
node_image_archives() {
  [[ -x /bin/busybox ]] || die "/bin/busybox is missing (Debian package busybox-static)"
  write_image "$PAUSE_IMAGE" pause fill_pause "$(pause_bin)" --entrypoint '["/pause"]' --user 65535:65535
  write_image "$BUSYBOX_IMAGE" busybox fill_busybox /bin/busybox --cmd '["sh"]' \
    --env PATH=/usr/sbin:/usr/bin:/sbin:/bin
  write_image "$COREDNS_IMAGE" coredns fill_coredns "$COREDNS_BIN_DIR/coredns" \
    --entrypoint '["/coredns"]' --user 65532:65532
}

# --- host record and checks (up) ---------------------------------------------------------------------

node_sysctls() { sysctl -a 2>/dev/null | grep -E "$NODE_SYSCTL_PREFIXES" | grep -vE "$NODE_SYSCTL_VOLATILE" | LC_ALL=C sort; }

iptables_tables() { # FAMILY(ip|ip6): the tables that exist, one a line
  "${1}tables-save" 2>/dev/null | sed -n 's/^\*//p' | LC_ALL=C sort
}

iptables_our_chains() { # FAMILY TABLE: KUBE-*/CNI-* chains
  "${1}tables-save" -t "$2" 2>/dev/null | sed -n 's/^:\(\(KUBE\|CNI\)-[^ ]*\) .*/\1/p'
}

node_cgroups() { find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -type d -name 'kubepods*' 2>/dev/null | LC_ALL=C sort; }

# Records what `down` must restore, before anything is changed.
node_host_record() {
  local h="$STATE_DIR/host" fam t entry path
  mkdir -p "$h"
  node_sysctls > "$h/sysctl.before"
  for fam in ip ip6; do
    iptables_tables "$fam" | sed "s/^/$fam /" >> "$h/iptables-tables.before"
    for t in $(iptables_tables "$fam"); do
      iptables_our_chains "$fam" "$t" | sed "s/^/$fam $t /" >> "$h/iptables-chains.before"
    done
  done
  touch "$h/iptables-tables.before" "$h/iptables-chains.before"
  node_cgroups > "$h/cgroups.before"
  : > "$h/missing-paths"
  for entry in "${NODE_HOST_PATHS[@]}"; do
    path=${entry% *}
    [[ -e "$path" ]] || echo "$entry" >> "$h/missing-paths"
  done
}

# Fails (before anything is started) when another real-node cluster or something else holds the bridge,
# its address range or the fixed ports.
node_preflight() {
  (( EUID == 0 )) || die "local-cluster/up --real-node must run as root (the kubelet, containerd, the bridge and iptables need it); plain 'local-cluster/up' (kwok) does not"
  local cmd
  for cmd in containerd ctr runc ip ss iptables ip6tables iptables-save iptables-restore sysctl mount umount; do
    command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' is missing (Debian packages: ${NODE_PACKAGES[*]})"
  done
  for cmd in bridge host-local loopback; do
    [[ -x "$CNI_BIN_DIR/$cmd" ]] || die "the CNI plugin $CNI_BIN_DIR/$cmd is missing (Debian package containernetworking-plugins; or set MIGRATE_GATE_CNI_BIN_DIR)"
  done
  [[ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" == cgroup2fs ]] || [[ -d /sys/fs/cgroup/memory ]] \
    || die "no cgroup hierarchy at /sys/fs/cgroup (the kubelet needs cgroup v1 or v2 mounted there)"
  if ip link show "$NODE_BRIDGE" >/dev/null 2>&1; then
    die "the bridge $NODE_BRIDGE already exists: another real-node cluster runs (see 'local-cluster/status --real-node', or MIGRATE_GATE_NODE_CLUSTER_DIR of another user), or a leftover. Fix: 'local-cluster/down --real-node' for ours, or 'ip link delete $NODE_BRIDGE'"
  fi
  local holder
  holder=$(ip -o -4 addr show to "$NODE_POD_CIDR" 2>/dev/null)
  [[ -z "$holder" ]] || die "the address range $NODE_POD_CIDR of the real node is already on an interface: $holder. Free it first (one real-node cluster per machine)"
  holder=$(ip -o -4 route show match "$NODE_IP" 2>/dev/null | grep -v '^default' || true)
  [[ -z "$holder" ]] || die "a route already covers the real node's address $NODE_IP: $holder. Free it first (another cluster's network?)"
  local entry component port
  for entry in "kube-apiserver $NODE_APISERVER_PORT" "kubelet 10250" "kubelet 10248" "kube-proxy 10256" "kube-proxy 10249"; do
    component=${entry% *}; port=${entry#* }
    holder=$(node_port_holders "$port")
    [[ -z "$holder" ]] || die "$component cannot start: it listens on $NODE_IP:$port, and that port is held by $holder (its log would be $STATE_DIR/logs/$component.log). Fix: stop that process; the real node's ports are fixed ($NODE_FIXED_PORTS_TEXT)"
  done
  local kubelets
  kubelets=$(pgrep -x kubelet || true)
  [[ -z "$kubelets" ]] || die "another kubelet runs on this machine (pid $(echo $kubelets)); one real node per machine: stop it first ('local-cluster/down --real-node' if it is ours)"
}

# node_port_holders [PORT...]: the listeners on the real node's fixed ports (default: all of them) that
# would conflict with a bind to NODE_IP, as "ADDRESS:PORT (PROCESS)"; empty when they are free.
node_port_holders() {
  local ports="${*:-$NODE_APISERVER_PORT 10250 10248 10249 10256}"
  ss -Hltnp 2>/dev/null | awk -v ports=" $ports " -v ip="$NODE_IP" '
    { n = split($4, a, ":"); p = a[n]; addr = substr($4, 1, length($4) - length(p) - 1) }
    index(ports, " " p " ") && (addr == "0.0.0.0" || addr == "*" || addr == "[::]" || addr == ip) {
      printf "%s%s (%s)", sep, $4, $6; sep = ", " }'
}

# --- bridge, configuration files ----------------------------------------------------------------------

node_create_bridge() {
  ip link add "$NODE_BRIDGE" type bridge || die "could not create the bridge $NODE_BRIDGE (needs CAP_NET_ADMIN)"
  touch "$STATE_DIR/host/bridge-created"
  ip addr add "$NODE_IP/${NODE_POD_CIDR#*/}" dev "$NODE_BRIDGE" \
    && ip link set "$NODE_BRIDGE" up || die "could not configure the bridge $NODE_BRIDGE with $NODE_IP"
}

gen_node_pki() {
  local pki="$STATE_DIR/pki"
  issue_cert "$pki" kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" \
    "extendedKeyUsage=clientAuth" "keyUsage=critical,digitalSignature"
  issue_cert "$pki" kubelet-serving "/CN=$NODE_NAME" \
    "subjectAltName=IP:$NODE_IP,DNS:$NODE_NAME" "extendedKeyUsage=serverAuth" "keyUsage=critical,digitalSignature"
  issue_cert "$pki" kube-proxy "/CN=system:kube-proxy" \
    "extendedKeyUsage=clientAuth" "keyUsage=critical,digitalSignature"
  issue_cert "$pki" apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" \
    "extendedKeyUsage=clientAuth" "keyUsage=critical,digitalSignature"
  local server="https://$NODE_IP:$NODE_APISERVER_PORT"
  write_kubeconfig "$STATE_DIR/node/kubelet.kubeconfig" "$server" "$pki/kubelet.crt" "$pki/kubelet.key"
  write_kubeconfig "$STATE_DIR/node/kube-proxy.kubeconfig" "$server" "$pki/kube-proxy.crt" "$pki/kube-proxy.key"
}

node_write_configs() {
  local s=$STATE_DIR n="$STATE_DIR/node"
  mkdir -p "$n" "$s/cni/net.d" "$s/cni/ipam" "$s/containerd" "$s/kubelet" "$s/pod-logs" "$s/kubelet-plugins"
  # containerd: own root, state and sockets; the CRI plugin with our pause image, netns under its state.
  cat > "$s/containerd/config.toml" <<TOML
version = 2
root = "$s/containerd/root"
state = "$s/containerd/state"
oom_score = 0
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$s/containerd/containerd.sock"
[ttrpc]
  address = "$s/containerd/containerd.sock.ttrpc"
[debug]
  level = "info"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # root lacks CAP_SYS_RESOURCE here: runc cannot lower oom_score_adj below containerd's own.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$s/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$s/cni/net.d"
TOML
  # CNI: the bridge made by up, host-local addresses from 10.244.0.0/24, no masquerading.
  cat > "$s/cni/net.d/10-migrate-gate.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "migrate-gate-node",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$NODE_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$NODE_POD_CIDR", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$s/cni/ipam"
      }
    }
  ]
}
JSON
  local pki="$s/pki"
  cat > "$n/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 is deprecated in 1.35: the kubelet refuses it unless told otherwise.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$s/containerd/containerd.sock
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: $NODE_IP
healthzPort: 10248
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $pki/ca.crt}
authorization:
  mode: Webhook
clusterDNS: [$CLUSTER_DNS_IP]
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
podLogsDir: $s/pod-logs
volumePluginDir: $s/kubelet-plugins
failSwapOn: false
oomScoreAdj: 0
# The loaded images cannot be pulled again: no image GC (only at a 100 % full disk) and no disk-pressure
# eviction (which would GC images); memory eviction only.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
# The kubelet's iptables "hint" and firewall chains are not needed (kube-proxy has its own): fewer host changes.
makeIPTablesUtilChains: false
serializeImagePulls: false
rotateCertificates: false
serverTLSBootstrap: false
shutdownGracePeriod: 0s
YAML
  cat > "$n/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: $n/kube-proxy.kubeconfig
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
healthzBindAddress: $NODE_IP:10256
metricsBindAddress: $NODE_IP:10249
clusterCIDR: $NODE_POD_CIDR
nodePortAddresses: ["$NODE_IP/32"]
oomScoreAdj: 0
# Leave the host's conntrack settings alone.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  localhostNodePorts: false
  masqueradeAll: false
  minSyncPeriod: 1s
  syncPeriod: 30s
YAML
}

# --- components -------------------------------------------------------------------------------------

start_containerd() {
  start_component containerd containerd --config "$STATE_DIR/containerd/config.toml"
  wait_for containerd 30 ctr_node version
}

# load_images LOG FILE...: imports docker-save/OCI archives into the node's containerd (k8s.io namespace).
load_images() {
  local log_file=$1 file out; shift
  for file in "$@"; do
    [[ -f "$file" && -r "$file" ]] || die "image archive $file: no such readable file"
    printf '\n--- %s ctr images import %s\n' "$(date -u +%FT%TZ)" "$file" >> "$log_file"
    if ! out=$(ctr_node images import --snapshotter overlayfs "$file" 2>&1) \
        || ! grep -q '^unpacking ' <<<"$out"; then
      printf '%s\n' "$out" >> "$log_file"
      printf '[local-cluster] error: the image archive %s does not load into the node'"'"'s containerd (ctr images import). Last lines of its log %s:\n' "$file" "$log_file" >&2
      tail -n 8 "$log_file" | sed 's/^/    /' >&2
      printf '[local-cluster] fix: give a docker-save or OCI image archive (docker save, mvn jib:buildTar, local-cluster/lib/image-writer.py); check it with: tar tf %s | head (a manifest.json or index.json at its top)\n' "$file" >&2
      return 1
    fi
    printf '%s\n' "$out" >> "$log_file"
    sed -n 's/^unpacking \([^ ]*\) .*/[local-cluster] loaded image \1/p' <<<"$out" >&2
  done
}

start_kubelet() {
  start_component kubelet "$KUBE_BIN_DIR/kubelet" \
    --config="$STATE_DIR/node/kubelet.yaml" --kubeconfig="$STATE_DIR/node/kubelet.kubeconfig" \
    --root-dir="$STATE_DIR/kubelet" --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --v=1
}

start_kube_proxy() {
  start_component kube-proxy "$KUBE_BIN_DIR/kube-proxy" --config="$STATE_DIR/node/kube-proxy.yaml" --v=1
}

coredns_ready() {
  [[ "$(kctl -n kube-system get deployment coredns -o 'jsonpath={.status.readyReplicas}')" == 1 ]]
}

# Waits for the CoreDNS pod to be Ready; on failure its logs and status go to logs/coredns.log.
wait_for_coredns() {
  local seconds=$1 deadline=$(( $(date +%s) + $1 ))
  until coredns_ready 2>/dev/null; do
    if (( $(date +%s) >= deadline )); then
      { kctl -n kube-system describe pods -l k8s-app=kube-dns 2>&1 | tail -n 30
        kctl -n kube-system logs -l k8s-app=kube-dns --tail=30 2>&1; } >> "$STATE_DIR/logs/coredns.log"
      component_failed coredns "pod not Ready after ${seconds}s (kubectl -n kube-system describe pod -l k8s-app=kube-dns)"
    fi
    all_started_alive coredns
    sleep 0.3
  done
}

# A pod resolves the kubernetes Service by name through CoreDNS and reaches the API server through it.
node_service_check() {
  local pod=local-cluster-check
  kctl -n kube-system delete pod "$pod" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  kctl -n kube-system apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata:
  name: $pod
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 0
  containers:
  - name: check
    image: $BUSYBOX_IMAGE
    imagePullPolicy: Never
    # The API server answers plain HTTP on its TLS port with "400 Bad Request": reached through the
    # Service by its DNS name (no TLS client needed; busybox wget: its -T option crashes, timeout instead).
    command: ["sh", "-c", "for i in \$(seq 100); do if timeout 3 wget -O- http://kubernetes.default.svc.cluster.local:443/ 2>&1 | grep -q 'HTTP/1.0 400'; then echo service reachable; exit 0; fi; sleep 0.3; done; nslookup kubernetes.default.svc.cluster.local; timeout 3 wget -O- http://kubernetes.default.svc.cluster.local:443/; exit 1"]
YAML
  local deadline=$(( $(date +%s) + 60 )) phase=""
  until [[ "$phase" == Succeeded || "$phase" == Failed ]]; do
    (( $(date +%s) < deadline )) || break
    sleep 0.3
    phase=$(kctl -n kube-system get pod "$pod" -o 'jsonpath={.status.phase}' 2>/dev/null || true)
  done
  if [[ "$phase" != Succeeded ]]; then
    log "error: a pod could not resolve or reach the kubernetes Service (pod phase '${phase:-unknown}'); its output:"
    kctl -n kube-system logs "$pod" 2>&1 | tail -n 10 | sed 's/^/    /' >&2
    kctl -n kube-system describe pod "$pod" 2>&1 | tail -n 8 | sed 's/^/    /' >&2
    component_failed kube-proxy "or CoreDNS did not route the pod's request (CoreDNS: kubectl -n kube-system logs deploy/coredns)" || true
    return 1
  fi
  kctl -n kube-system logs "$pod" 2>/dev/null | grep -q 'service reachable' \
    || { log "error: 'kubectl logs' of the check pod failed (API server -> kubelet)"; component_failed kubelet "does not serve container logs" || true; return 1; }
  kctl -n kube-system delete pod "$pod" --wait=false >/dev/null 2>&1 || true
}

# --- teardown (down --real-node) -----------------------------------------------------------------------

# Deletes every workload and pod and waits until the kubelet has stopped them, so that the CNI DEL of
# each sandbox runs while the kubelet and containerd are still there.
node_delete_pods() {
  component_alive kube-apiserver && component_alive kubelet || return 0
  apiserver_ready 2>/dev/null || return 0
  kctl delete deployments,statefulsets,daemonsets,replicasets,jobs,cronjobs --all --all-namespaces --wait=false >/dev/null 2>&1
  kctl delete pods --all --all-namespaces --grace-period=1 --wait=false >/dev/null 2>&1
  local deadline=$(( $(date +%s) + 45 ))
  while (( $(date +%s) < deadline )); do
    [[ -z "$(kctl get pods --all-namespaces -o name 2>/dev/null)" ]] && return 0
    sleep 0.5
  done
  log "warning: pods were still terminating after 45s; removing their containers directly"
}

# Kills and deletes what is left in our containerd (tasks, containers, images need not be deleted:
# the state folder goes away).
node_remove_containers() {
  component_alive containerd || return 0
  local id
  ctr_node containers ls -q > "$STATE_DIR/host/sandboxes" 2>/dev/null   # their CNI cache entries go later
  for id in $(ctr_node tasks ls -q 2>/dev/null); do
    ctr_node tasks kill --all --signal SIGKILL "$id" >/dev/null 2>&1
  done
  for id in $(ctr_node tasks ls -q 2>/dev/null); do
    for _ in $(seq 20); do ctr_node tasks delete "$id" >/dev/null 2>&1 && break; sleep 0.1; done
  done
  for id in $(ctr_node containers ls -q 2>/dev/null); do ctr_node containers delete "$id" >/dev/null 2>&1; done
}

# Processes still running that belong to this cluster: the containerd shims (detached from
# containerd's session) and anything in our kubepods cgroups.
node_leftover_pids() {
  local pid cg
  for pid in $(pgrep -f "containerd-shim.*-address $STATE_DIR/" 2>/dev/null); do echo "$pid"; done
  for cg in $(LC_ALL=C comm -13 "$STATE_DIR/host/cgroups.before" <(node_cgroups) 2>/dev/null); do
    find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null
  done
}

node_kill_leftovers() {
  local pids
  for _ in $(seq 50); do
    pids=$(node_leftover_pids | sort -u)
    [[ -z "$pids" ]] && return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    sleep 0.1
  done
  log "warning: processes of the real node survived SIGKILL: $(echo $pids)"
}

node_mounts() { awk -v d="$STATE_DIR" '{ if (index($5, d "/") == 1 || $5 == d) print $5 }' /proc/self/mountinfo; }

node_unmount_all() {
  local m
  for _ in $(seq 10); do
    [[ -z "$(node_mounts)" ]] && return 0
    for m in $(node_mounts | awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2- | uniq); do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
    done
  done
  log "warning: still mounted under $STATE_DIR: $(node_mounts | tr '\n' ' ')"
}

node_remove_cgroups() {
  local cg dir
  for cg in $(LC_ALL=C comm -13 "$STATE_DIR/host/cgroups.before" <(node_cgroups) 2>/dev/null); do
    for _ in $(seq 20); do
      find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
      [[ -d "$cg" ]] || break
      sleep 0.1
    done
    [[ -d "$cg" ]] && log "warning: could not remove the cgroup $cg"
  done
}

node_restore_sysctls() {
  local before="$STATE_DIR/host/sysctl.before" key value current pass
  [[ -f "$before" ]] || return 0
  # ip_forward first: writing it resets every interface's forwarding flag.
  for pass in 1 2; do
    while IFS= read -r line; do
      key=${line%% = *}; value=${line#* = }
      [[ $pass == 1 && "$key" != net.ipv4.ip_forward ]] && continue
      current=$(sysctl -n "$key" 2>/dev/null | tr '\t' ' ') || continue
      [[ "$current" == "$(tr '\t' ' ' <<<"$value")" ]] && continue
      if sysctl -q -w "$key=$value" >/dev/null 2>&1; then
        log "restored sysctl $key = $value (was $current)"
      fi
    done < <(LC_ALL=C comm -23 "$before" <(node_sysctls))
  done
}

# Removes the KUBE-*/CNI-* chains that did not exist before up (and the jumps to them), then the
# iptables-nft tables that up found missing and that are empty again.
node_cleanup_iptables() {
  local h="$STATE_DIR/host" fam t chains chain rule
  [[ -f "$h/iptables-tables.before" ]] || return 0
  for fam in ip ip6; do
    for t in $(iptables_tables "$fam"); do
      chains=$(iptables_our_chains "$fam" "$t" | grep -vxF -f <(awk -v f="$fam" -v t="$t" '$1 == f && $2 == t { print $3 }' "$h/iptables-chains.before") || true)
      [[ -z "$chains" ]] && continue
      {
        echo "*$t"
        while IFS= read -r rule; do
          chain=$(awk '{ print $2 }' <<<"$rule")
          grep -qxF "$chain" <<<"$chains" && continue
          for c in $chains; do
            if [[ " $rule " == *" -j $c "* || " $rule " == *" -g $c "* ]]; then echo "-D ${rule#-A }"; break; fi
          done
        done < <("${fam}tables-save" -t "$t" | grep '^-A ')
        for c in $chains; do echo "-F $c"; done
        for c in $chains; do echo "-X $c"; done
        echo COMMIT
      } | "${fam}tables-restore" --noflush 2>>"$STATE_DIR/logs/down.log" \
        || log "warning: could not remove the $fam $t chains $(echo $chains) (see $STATE_DIR/logs/down.log)"
    done
    # Tables that did not exist before and hold nothing but empty built-in chains again.
    if "${fam}tables" -V 2>/dev/null | grep -q nf_tables && command -v nft >/dev/null 2>&1; then
      for t in $(iptables_tables "$fam"); do
        grep -qxF "$fam $t" "$h/iptables-tables.before" && continue
        if ! "${fam}tables-save" -t "$t" | grep -vE '^(#|\*|COMMIT$|:(INPUT|OUTPUT|FORWARD|PREROUTING|POSTROUTING) ACCEPT )' | grep -q .; then
          nft delete table "$fam" "$t" 2>>"$STATE_DIR/logs/down.log" || log "warning: could not delete the nftables table $fam $t"
        fi
      done
    fi
  done
}

node_remove_host_paths() {
  local h="$STATE_DIR/host" entry path policy f
  # Our entries in paths that existed before: the container log links into our state folder, our
  # network's CNI result cache.
  for f in /var/log/containers/*; do
    [[ -L "$f" && "$(readlink "$f")" == "$STATE_DIR/"* ]] && rm -f "$f"
  done
  local id
  for id in $(cat "$STATE_DIR/host/sandboxes" 2>/dev/null) $(ls /var/lib/cni/results 2>/dev/null | sed -n 's/^migrate-gate-node-\(.*\)-eth0$/\1/p'); do
    rm -f /var/lib/cni/results/*-"$id"-* 2>/dev/null
  done
  [[ -f "$h/missing-paths" ]] || return 0
  # Deepest first, so "empty" parents are judged after their children.
  while IFS= read -r entry; do
    path=${entry% *}; policy=${entry##* }
    [[ -e "$path" ]] || continue
    if [[ "$policy" == tree ]]; then rm -rf "$path"; else rmdir "$path" 2>/dev/null; fi
    [[ -e "$path" ]] && log "warning: left $path (not empty: not only ours)"
  done < <(awk '{ print length($1) " " $0 }' "$h/missing-paths" | sort -rn | cut -d' ' -f2-)
}

# The whole teardown, in the order that leaves nothing: workloads and pods (CNI DEL runs), kube-proxy
# and its rules, kubelet, leftover containers, containerd, control plane, mounts, cgroups, bridge,
# sysctls, iptables, host paths. Each step copes with a half-started node.
node_down() {
  node_delete_pods
  stop_components kube-proxy kubelet   # the kubelet makes no iptables rules here (makeIPTablesUtilChains: false)
  if [[ -x "$KUBE_BIN_DIR/kube-proxy" && -f "$STATE_DIR/host/iptables-tables.before" ]]; then
    "$KUBE_BIN_DIR/kube-proxy" --cleanup --v=0 >>"$STATE_DIR/logs/kube-proxy.log" 2>&1 || true
  fi
  node_remove_containers
  # Nothing talks to the control plane any more: everything else stops at once, etcd last (an API
  # server without its etcd does not stop on SIGTERM).
  stop_components containerd kube-scheduler kube-controller-manager kube-apiserver
  stop_component etcd
  node_kill_leftovers
  node_unmount_all
  node_remove_cgroups
  if [[ -f "$STATE_DIR/host/bridge-created" ]]; then
    ip link delete "$NODE_BRIDGE" 2>/dev/null || ! ip link show "$NODE_BRIDGE" >/dev/null 2>&1 \
      || log "warning: could not delete the bridge $NODE_BRIDGE"
  fi
  node_restore_sysctls
  node_cleanup_iptables
  node_remove_host_paths
}
