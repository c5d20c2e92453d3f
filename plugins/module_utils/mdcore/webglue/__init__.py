"""Web server glue on the host: what a web server needs from the store, written at reload time.

``mdfleet webglue sync`` is the engine's (and the role's) config test command for nginx and
haproxy: it writes nginx's stapling includes or haproxy's combined crt files from the store's
active sets, then runs the server's own config test. ``mdfleet webglue reload`` reloads and, for
haproxy, waits until the new worker serves the new certificates. One file per responsibility:
config (webglue.json), files (replace-if-changed), staples (is a staple good to serve: the
staple book), nginx, haproxy (crt files, the reload wait), haproxy_api (the runtime API client,
shared with OCSP's live updates), commands (sync and reload), cli (the subcommands).
"""
