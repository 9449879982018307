"""Pure detectors: no bus, no web. See detectors/base.py and detectors/registry.py."""
