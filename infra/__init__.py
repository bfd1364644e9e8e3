"""Local stack, registry stand-in, benchmarks and the operations CLI (never deployed)."""
