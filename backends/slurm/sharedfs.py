"""Can the compute nodes see the session directory? A check from ``/proc/self/mountinfo``.

Trials write their metrics, logs and exit status into the session directory, which the
runner reads on the login node: on a cluster of several nodes it must live on a shared
filesystem. The check is a warning, not a refusal (a site may share a filesystem kttui
does not know), and pure given the mount table, so it is tested with made-up tables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

_NETWORK_FS = frozenset(
    {
        "nfs",
        "nfs4",
        "lustre",
        "gpfs",
        "beegfs",
        "ceph",
        "cephfs",
        "glusterfs",
        "cifs",
        "smb3",
        "smbfs",
        "panfs",
        "wekafs",
        "pvfs2",
        "orangefs",
        "afs",
        "9p",
        "virtiofs",
        "davfs",
    }
)
_NETWORK_FUSE = ("sshfs", "glusterfs", "ceph", "s3fs", "gcsfuse", "juicefs", "lizardfs")
_LOCAL_ONLY_FS = frozenset({"tmpfs", "ramfs", "devtmpfs", "overlay", "squashfs"})
_LOCAL_ONLY_PATHS = ("/tmp", "/var/tmp", "/dev/shm", "/run", "/scratch/local", "/local")


@dataclass(frozen=True)
class FsCheck:
    """Whether the compute nodes can see a path; ``ok`` False means a warning for the user."""

    path: str
    mount: str
    fstype: str
    nodes: int
    ok: bool
    message: str


def _mount_of(path: Path, mountinfo: str) -> tuple[str, str]:
    """(mount point, fs type) of the longest mount containing ``path``."""
    best, best_type = "/", "unknown"
    target = str(path)
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields = left.split()
        if len(fields) < 5:
            continue
        point = fields[4].replace("\\040", " ")
        fstype = right.split()[0] if right.split() else "unknown"
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, best_type = point, fstype
    return best, best_type


def check_shared_filesystem(path: Path | str, nodes: int, mountinfo: str | None = None) -> FsCheck:
    """Is ``path`` on a filesystem that ``nodes`` compute nodes share?

    Network filesystems (NFS, Lustre, GPFS, BeeGFS, CephFS, ...) are shared; tmpfs,
    ``/tmp``-like paths and local disks are not, which only matters with more than
    one node (on a one-node cluster the trials run where the session lives).
    """
    real = Path(os.path.realpath(path))
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError:
            mountinfo = ""
    mount, fstype = _mount_of(real, mountinfo)
    base = fstype.split(".", 1)[-1] if fstype.startswith("fuse.") else fstype
    network = fstype in _NETWORK_FS or (
        fstype.startswith("fuse.") and any(n in base for n in _NETWORK_FUSE)
    )
    local_path = any(str(real) == p or str(real).startswith(p + "/") for p in _LOCAL_ONLY_PATHS)
    where = f"{real} is on {fstype} ({mount})"
    if network:
        return FsCheck(str(real), mount, fstype, nodes, True, f"{where}: shared with the nodes")
    if nodes <= 1:
        return FsCheck(
            str(real), mount, fstype, nodes, True, f"{where}; one node: need not be shared"
        )
    if fstype in _LOCAL_ONLY_FS or local_path:
        kind = "a memory filesystem" if fstype in ("tmpfs", "ramfs") else "a node-local path"
        msg = (
            f"{where}, {kind}: the {nodes} nodes of the partition cannot see it; "
            "put the session store on a shared filesystem (--sessions-dir or $KTTUI_HOME)"
        )
        return FsCheck(str(real), mount, fstype, nodes, False, msg)
    msg = (
        f"{where}, which looks local to this machine, and the partition has {nodes} nodes; "
        "trials on other nodes will not find their files unless it is shared"
    )
    return FsCheck(str(real), mount, fstype, nodes, False, msg)
