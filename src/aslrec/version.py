"""The package version, in a module of its own so any layer can read it without importing
the package root (whose lazy ``Recognizer`` attribute reaches into inference)."""

__version__ = "0.1.0"
