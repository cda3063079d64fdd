"""The `horn` command line: the one package that may import both the server and the worker.

`horn up | server | worker | keys | db`; the entry point is `horn.cli.main.main`
(`python -m horn.cli` runs it too).
"""
