#!/usr/bin/env python3
"""Writes a one-layer container image as a docker-save archive (what `docker save` and Jib's
buildTar write, and what `ctr images import` loads) from a directory, deterministically: entries
sorted, owner root:root, mtimes 0, no user/group names, fixed config timestamps, so the same
directory and options give the same image digest on every machine.

Usage: image-writer.py --rootfs DIR --name REPO:TAG --out FILE.tar
                       [--entrypoint JSON] [--cmd JSON] [--env K=V]... [--user UID[:GID]]
                       [--workdir DIR] [--label K=V]...
File modes are taken from the directory (so the caller sets them: 0755 executables, 1777 /tmp).
"""
import argparse
import hashlib
import io
import json
import os
import stat
import sys
import tarfile

EPOCH = "1970-01-01T00:00:00Z"


def layer_tar(rootfs):
    """The layer as bytes: every entry below rootfs, parents before children, sorted by path."""
    entries = []
    for dirpath, dirnames, filenames in os.walk(rootfs):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            entries.append(os.path.relpath(full, rootfs))
    entries.sort(key=lambda p: p.split(os.sep))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in entries:
            full = os.path.join(rootfs, rel)
            st = os.lstat(full)
            info = tarfile.TarInfo(rel.replace(os.sep, "/"))
            info.mode = stat.S_IMODE(st.st_mode)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            if stat.S_ISLNK(st.st_mode):
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(full)
                tar.addfile(info)
            elif stat.S_ISDIR(st.st_mode):
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif stat.S_ISREG(st.st_mode):
                info.size = st.st_size
                with open(full, "rb") as f:
                    tar.addfile(info, f)
            else:
                sys.exit(f"image-writer: unsupported file type: {full}")
    return buf.getvalue()


def add_bytes(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.mtime = 0
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))


def key_values(pairs):
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            sys.exit(f"image-writer: expected KEY=VALUE, got {pair!r}")
        result[key] = value
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rootfs", required=True)
    parser.add_argument("--name", required=True, help="image reference, e.g. migrate-gate.local/busybox:1")
    parser.add_argument("--out", required=True)
    parser.add_argument("--entrypoint", type=json.loads)
    parser.add_argument("--cmd", type=json.loads)
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--user")
    parser.add_argument("--workdir")
    parser.add_argument("--label", action="append", default=[])
    args = parser.parse_args()
    if not os.path.isdir(args.rootfs):
        sys.exit(f"image-writer: no such directory: {args.rootfs}")

    layer = layer_tar(args.rootfs)
    layer_digest = hashlib.sha256(layer).hexdigest()
    container_config = {}
    if args.entrypoint is not None:
        container_config["Entrypoint"] = args.entrypoint
    if args.cmd is not None:
        container_config["Cmd"] = args.cmd
    if args.env:
        container_config["Env"] = args.env
    if args.user:
        container_config["User"] = args.user
    if args.workdir:
        container_config["WorkingDir"] = args.workdir
    if args.label:
        container_config["Labels"] = key_values(args.label)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": EPOCH,
        "config": container_config,
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + layer_digest]},
        "history": [{"created": EPOCH, "created_by": "local-cluster/lib/image-writer.py"}],
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_digest = hashlib.sha256(config_bytes).hexdigest()
    manifest = [{
        "Config": config_digest + ".json",
        "RepoTags": [args.name],
        "Layers": [layer_digest + "/layer.tar"],
    }]
    repo, _, tag = args.name.rpartition(":")
    repositories = {repo: {tag: config_digest}}

    tmp = args.out + ".partial"
    with open(tmp, "wb") as out, tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add_bytes(tar, config_digest + ".json", config_bytes)
        add_bytes(tar, layer_digest + "/layer.tar", layer)
        add_bytes(tar, "manifest.json", json.dumps(manifest, separators=(",", ":")).encode())
        add_bytes(tar, "repositories", json.dumps(repositories, separators=(",", ":")).encode())
    os.replace(tmp, args.out)
    print(f"sha256:{config_digest}")


if __name__ == "__main__":
    main()
