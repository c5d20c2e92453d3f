# -*- coding: utf-8 -*-
# Test-only connection for the molecule hosts: community.docker.nsenter, but the
# commands run with the container's own environment instead of the controller's.
#
# Why: `podman exec` costs ~0.3 s and Ansible runs ~5 per task and host (neither
# plugin pipelines); nsenter costs ~0.03 s. Plain nsenter however passes the
# controller's whole environment into the host (seen here: REQUESTS_CA_BUNDLE,
# SSL_CERT_FILE, VIRTUAL_ENV, PATH with .venv/bin ...), which would change how the
# engine's requests/ssl behave on the "host". So every command starts under
# `env -i` with PID 1's environment (what `podman exec` would give).
from __future__ import annotations

import os
import shlex

from ansible.errors import AnsibleConnectionFailure
from ansible_collections.community.docker.plugins.connection.nsenter import Connection as _Nsenter

DOCUMENTATION = """
name: mdfleet_nsenter
short_description: nsenter into a molecule container, with the container's environment
description:
  - Like community.docker.nsenter, but runs commands under C(env -i) with the
    environment of the target process (the container's PID 1).
author: mdfleet.md contributors
options:
  nsenter_pid:
    description: PID (on the controller) of the container's PID 1.
    type: int
    vars:
      - name: ansible_nsenter_pid
"""


class Connection(_Nsenter):
    transport = "mdfleet_nsenter"

    def _container_env(self):
        pid = self.get_option("nsenter_pid")
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                env = [v.decode() for v in f.read().split(b"\0") if v]
            foreign = os.readlink("/proc/%s/ns/mnt" % pid) != os.readlink("/proc/self/ns/mnt")
        except OSError as e:
            msg = "container PID %s is gone (%s): recreate the instance" % (pid, e)
            raise AnsibleConnectionFailure(msg) from e
        # A stale pidfile whose PID now belongs to a controller process would run the
        # tasks on the controller itself: insist on a podman container's process.
        if "container=podman" not in env or not foreign:
            raise AnsibleConnectionFailure("PID %s is not a podman container's init: stale pidfile?" % pid)
        return env

    def exec_command(self, cmd, in_data=None, sudoable=True):
        prefix = ["/usr/bin/env", "-i"] + self._container_env()
        if isinstance(cmd, (str, bytes)):
            text = cmd.decode() if isinstance(cmd, bytes) else cmd
            cmd = " ".join(shlex.quote(p) for p in prefix) + " " + text
        else:
            cmd = prefix + list(cmd)
        return super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
