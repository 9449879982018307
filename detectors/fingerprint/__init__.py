"""Banned-clip fingerprints: PDQ hashes of keyframes, a store, a multi-index, matching runs."""
