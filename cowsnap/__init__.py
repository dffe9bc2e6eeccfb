"""cowsnap: run any command, see exactly what it touched and changed, and undo it."""

__version__ = "0.1.0"
