"""The `horn` command's parser and entry point."""

from __future__ import annotations

import argparse

from horn.cli import db, keys, server, up, worker


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `horn`."""
    parser = argparse.ArgumentParser(prog="horn", description="Keras training as a service.")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (up, server, worker, keys, db):
        group.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `horn` command."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
