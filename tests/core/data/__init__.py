"""Fixtures for the data-layer tests: a bundle factory and a corpus of broken manifests."""
