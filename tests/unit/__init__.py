"""Package marker: makes test packages unique (unit.ocsp vs integration.ocsp)."""
