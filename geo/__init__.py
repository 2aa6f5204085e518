"""Generic geospatial helpers: CRS, geodesic distance, IO and validation.

Nothing in this package knows about Kazakhstan or any particular reform.
"""
