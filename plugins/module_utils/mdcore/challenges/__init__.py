"""Challenge solvers: make the CA's validation succeed, then clean up."""
