"""Package marker: makes test packages unique (integration.ocsp vs unit.ocsp)."""
