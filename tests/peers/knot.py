"""Knot DNS (Debian's knot: knotd) as an authoritative server the tests start: primaries that take
TSIG-signed dynamic updates of TXT records (an acl with action update), secondaries that poll."""

from __future__ import annotations

from .authdns import AuthDns


class Knot(AuthDns):
    name = "knotd"
    client = "kdig"

    def _config(self) -> str:
        w = self.workdir
        out = ["server:", "  rundir: %s" % w, "  listen: %s@%d" % (self.address, self.port),
               "database:", "  storage: %s" % w,
               "log:", "  - target: stderr", "    any: info"]
        for key in self.keys:  # key files as keymgr -t writes them, included as the docs show
            path = w / ("%s.key" % key.name)
            path.write_text(key.knot_file())
            out.append("include: %s" % path)
        out += ["acl:", "  - id: transfer", "    address: 127.0.0.0/8", "    action: transfer"]
        for key in self.keys:
            out += ["  - id: update-%s" % key.name, "    key: %s" % key.name, "    action: update",
                    "    update-type: [TXT]"]
        primaries = sorted({z.primary for z in self.zones if z.primary})
        if primaries:
            out.append("remote:")
            out += ["  - id: primary-%d\n    address: %s@%d" % (i, *p) for i, p in enumerate(primaries)]
        out += ["template:", "  - id: default", "    storage: %s" % w, '    file: "%s.zone"',
                "    zonefile-sync: -1", "    zonefile-load: whole", "    journal-content: changes", "zone:"]
        for zone in self.zones:
            out.append("  - domain: %s" % zone.name)
            acls = ["transfer"]
            if zone.primary:
                out.append("    master: primary-%d" % primaries.index(zone.primary))
            else:
                (w / ("%s.zone" % zone.name)).write_text(zone.zone_file())
                acls += ["update-%s" % k for k in zone.update_keys]
            out.append("    acl: [%s]" % ", ".join(acls))
        return "\n".join(out) + "\n"

    def start(self) -> Knot:
        conf = self.workdir / "knot.conf"
        conf.write_text(self._config())
        self._spawn([self.binary, "-c", str(conf)])
        self._wait_ready(self._serves_all, "SOA of every zone")
        return self
