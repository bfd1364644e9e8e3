"""Load harness: the funnel under a crowd, with Locust (`make load`, `python -m infra.load`)."""
