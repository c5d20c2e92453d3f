"""BIND 9 (Debian's bind9: named) as an authoritative server the tests start: primaries that take
TSIG-signed dynamic updates of TXT records (update-policy), secondaries that poll their primary.

With ``forward`` it is a recursive resolver instead (what a CA validates through, following
CNAMEs from zone to zone): each zone named there goes to the server the tests started for it,
everything else to ``forward[""]``, and its root hints name loopback only, so no query ever
leaves loopback.
"""

from __future__ import annotations

from pathlib import Path

from .authdns import AuthDns, DnsKey, DnsZone

ROOT_HINTS = ". 3600000 NS ns.root.test.\nns.root.test. 3600000 A 127.0.0.1\n"


def _forwarders(server: str) -> str:
    host, port = server.rsplit(":", 1)
    return "forward only; forwarders { %s port %s; };" % (host, port)


class Bind(AuthDns):
    name = "named"
    client = "dig"

    def __init__(self, workdir: Path, keys: list[DnsKey], zones: list[DnsZone], binary: str | None = None,
                 address: str = "127.0.0.1", port: int | None = None, forward: dict[str, str] | None = None) -> None:
        super().__init__(workdir, keys, zones, binary, address, port)
        self.forward = forward or {}

    def _options(self) -> list[str]:
        out = ['options {',
               '  directory "%s";' % self.workdir,
               '  pid-file none;',
               '  session-keyfile none;',
               '  listen-on port %d { %s; };' % (self.port, self.address),
               '  listen-on-v6 { none; };',
               '  notify no;',  # secondaries find changes by polling (SOA refresh), as a lagging one does
               '  dnssec-validation no;',
               '  allow-transfer { 127.0.0.0/8; };']
        if self.forward:
            out += ['  recursion yes;', '  allow-recursion { 127.0.0.0/8; };', '  ' + _forwarders(self.forward[""])]
        else:
            out.append('  recursion no;')
        return out + ['};', 'controls { };']

    def _config(self) -> str:
        out = self._options()
        if self.forward:
            (self.workdir / "root.hints").write_text(ROOT_HINTS)
            out.append('zone "." { type hint; file "%s"; };' % (self.workdir / "root.hints"))
            out += ['zone "%s" { type forward; %s };' % (zone, _forwarders(server))
                    for zone, server in sorted(self.forward.items()) if zone]
        for key in self.keys:  # key files as tsig-keygen writes them, included as the docs show
            path = self.workdir / ("%s.key" % key.name)
            path.write_text(key.bind_file())
            out.append('include "%s";' % path)
        for zone in self.zones:
            path = self.workdir / ("%s.zone" % zone.name)
            if zone.primary:
                out.append('zone "%s" { type secondary; file "%s"; primaries { %s port %d; }; };'
                           % (zone.name, path, *zone.primary))
                continue
            path.write_text(zone.zone_file())
            grants = " ".join("grant %s zonesub TXT;" % key for key in zone.update_keys)
            policy = (" update-policy { %s };" % grants) if grants else ""
            out.append('zone "%s" { type primary; file "%s";%s };' % (zone.name, path, policy))
        return "\n".join(out) + "\n"

    def start(self) -> Bind:
        conf = self.workdir / "named.conf"
        conf.write_text(self._config())
        # -g: foreground, log to stderr; -n 1: one worker thread (2 cores, shared)
        self._spawn([self.binary, "-g", "-n", "1", "-c", str(conf)])
        if self.forward:
            first = next(zone for zone in sorted(self.forward) if zone)
            self._wait_ready(lambda: self.answers_soa(first, recursion=True), "recursive answer for %s" % first)
        else:
            self._wait_ready(self._serves_all, "SOA of every zone")
        return self
