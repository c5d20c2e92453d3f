"""Fleets (issue 9): shared domains ordered by one issuer and imported as complete sets by the
members, and one ACME account per CA held by one host and imported by the others.

  roles.py     host names: who orders a shared domain, who registers accounts
  bundle.py    the bundle that travels (format, build, strict parse, verification)
  share.py     export and import of sets and accounts; the fleet state (public identities)
  accounts.py  the account holder's side: ensure, import of a given key, rollover

Nothing here talks to another host: Ansible moves the bundles (stdin/stdout of `mdfleet`).
"""
