"""Reform specification files (TOML data, not code)."""
