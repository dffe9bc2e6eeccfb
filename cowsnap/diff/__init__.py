"""`cowsnap diff`: what a run changed, as unified diffs, statistics or status letters."""
