"""Tests of third-party plugins, with the acme distribution (tests/plugins/acme)."""
