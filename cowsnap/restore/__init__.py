"""`cowsnap restore`: a pure plan over manifest data, then a safe, atomic application."""
