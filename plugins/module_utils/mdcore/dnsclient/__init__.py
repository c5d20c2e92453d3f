"""A DNS client for the engine: TSIG keys, queries and RFC 2136 updates with deadlines, zone and
CNAME lookups, and the propagation check. dnspython is imported (guarded) in :mod:`.lib` only."""
