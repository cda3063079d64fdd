#!/usr/bin/env python3
"""Lay out `build/lint/horn` as the installed package looks, for tools that read files.

pyproject.toml maps the design card's folders under one package (`client` is `horn`,
`server` is `horn.server`, ...). The editable install resolves that at import time,
but mypy and import-linter read the file tree, so `make lint` points them here: real
folders, with a symbolic link to each source file.
"""

from __future__ import annotations

import shutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def package_dirs() -> dict[str, Path]:
    """Each package of pyproject.toml and the folder it comes from."""
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping: dict[str, str] = setup["package-dir"]
    dirs: dict[str, Path] = {}
    for package in setup["packages"]:
        parts = package.split(".")
        for cut in range(len(parts), 0, -1):
            base = ".".join(parts[:cut])
            if base in mapping:
                dirs[package] = ROOT / mapping[base] / Path(*parts[cut:])
                break
    return dirs


def build(target: Path) -> Path:
    """Build the tree under `target` (emptied first) and return it."""
    shutil.rmtree(target, ignore_errors=True)
    for package, source in package_dirs().items():
        folder = target / Path(*package.split("."))
        folder.mkdir(parents=True, exist_ok=True)
        for path in source.iterdir():
            if path.is_file() and path.suffix in (".py", ".pyi", ".typed"):
                (folder / path.name).symlink_to(path)
    return target


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "lint"))
