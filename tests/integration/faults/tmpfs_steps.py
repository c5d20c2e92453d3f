"""Runs commands on a store that lives on a small tmpfs, filled up between them (the disk-full test,
test_disk_full.py). Started by the test as `unshare -m --propagation private python3 tmpfs_steps.py
SPEC`: the tmpfs exists in this private mount namespace only and goes with it.

SPEC (JSON): {"mount": folder, "options": "size=4m,nr_inodes=400", "template": store to copy to
<mount>/store, "steps": [{"fill": bytes to leave free, or "inodes" (no inode left), or null,
"argv": command, "copy_to": folder for a copy of the store afterwards, "empty": true to remove the
filler after the command}]}. Prints one JSON list: each step's exit code, stdout and stderr."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys

FILLER = "filler"
CHUNK = 64 * 1024
COMMAND_TIMEOUT = 120


def fill(mount: str, leave: int) -> None:
    """Write until the tmpfs is full, then give back ``leave`` bytes."""
    path = os.path.join(mount, FILLER)
    with open(path, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * CHUNK)
                handle.flush()
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    size = os.path.getsize(path)
    os.truncate(path, max(0, size - leave))


def use_up_inodes(mount: str) -> None:
    folder = os.path.join(mount, FILLER + "-inodes")
    os.mkdir(folder)
    number = 0
    while True:
        try:
            os.close(os.open(os.path.join(folder, str(number)), os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            return
        number += 1


def empty(mount: str) -> None:
    for name in (FILLER, FILLER + "-inodes"):
        path = os.path.join(mount, name)
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.unlink(path)


def main(spec_path: str) -> int:
    with open(spec_path) as handle:
        spec = json.load(handle)
    mount = spec["mount"]
    subprocess.run(["mount", "-t", "tmpfs", "-o", spec["options"] + ",mode=0755", "tmpfs", mount], check=True)
    shutil.copytree(spec["template"], os.path.join(mount, "store"), symlinks=True)
    results = []
    for step in spec["steps"]:
        if step.get("fill") == "inodes":
            use_up_inodes(mount)
        elif step.get("fill") is not None:
            fill(mount, int(step["fill"]))
        done = subprocess.run(step["argv"], capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False)
        results.append({"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr})
        if step.get("empty"):
            empty(mount)
        shutil.copytree(os.path.join(mount, "store"), step["copy_to"], symlinks=True)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
