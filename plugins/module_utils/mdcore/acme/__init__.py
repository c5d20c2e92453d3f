"""RFC 8555 client: JWS, transport (nonces, retries, deadlines), resources, accounts, orders."""
