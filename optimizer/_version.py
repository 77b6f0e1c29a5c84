"""The package version (imports nothing of ours, so any module may import it)."""

__version__ = "0.1.0"
