"""Package data for the domain (region codes used by the NIK rules); see README.md."""
