// The pause program of the real-node cluster's pod sandboxes (containerd's sandbox_image):
// built here because there is no registry to pull registry.k8s.io/pause from.
module migrate-gate.local/pause

go 1.22
