"""The package version: the only place it is written (the build backend reads it from here)."""

__version__ = "0.1.0"
