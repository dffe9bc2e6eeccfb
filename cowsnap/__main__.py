from cowsnap.cli import entry

entry()
