"""Replicate's official models for mediagen: catalog, generated endpoints and the provider
plugin."""
