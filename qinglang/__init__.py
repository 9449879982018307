"""The command line and the wiring of roles: the one package that imports them all."""

__version__ = "0.1.0"
