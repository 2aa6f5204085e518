"""Boundaries: data sources, declarative reform specs and the builder of each epoch's regions."""
