"""Shared package of the Prakerja registration backend: domain, adapters and HTTP glue."""
