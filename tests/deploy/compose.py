"""Read docker-compose.yml as Docker Compose would, and turn its services into native
commands against the test's PostgreSQL, Redis and object store."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.integration.stack import ROOT, python

COMPOSE_FILE = ROOT / "docker-compose.yml"
CPU_FILE = ROOT / "docker-compose.cpu.yml"
_VAR = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>\w+)")


class Reset:
    """Compose's `!reset` tag: the key is removed from the merged model."""


class _Loader(yaml.SafeLoader):
    pass


_Loader.add_constructor("!reset", lambda loader, node: Reset())


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose's variable substitution (`${X}`, `${X:-default}`, `${X:?error}`, `$$`)."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("name") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        have = env.get(name)
        if op in (":-", "-"):
            return have if have or (op == "-" and have is not None) else arg
        if op in (":?", "?"):
            if not have:
                raise KeyError(f"{name}: {arg}")
            return have
        return have or ""

    return _VAR.sub(one, value)


def load(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """The file's model after variable substitution."""
    model: dict[str, Any] = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506
    result: dict[str, Any] = interpolate(model, env)
    return result


def merge(base: Any, override: Any) -> Any:
    """Compose's merge of two files (mappings merged, `!reset` removes)."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            if isinstance(value, Reset):
                merged.pop(key, None)
            else:
                merged[key] = merge(base.get(key), value) if key in base else value
        return merged
    return override


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's `environment` as a dict of strings."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def start_order(services: Mapping[str, Any]) -> list[str]:
    """Services in an order that respects `depends_on`."""
    done: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        for dep in services[name].get("depends_on") or {}:
            visit(dep)
        done.append(name)

    for name in services:
        visit(name)
    return done


class NativeMap:
    """How the containers' names, ports and paths map onto this machine.

    Args:
        replacements: literal substrings to replace (service URLs, ports, paths).
    """

    def __init__(self, replacements: Mapping[str, str]) -> None:
        self.replacements = dict(replacements)

    def text(self, value: str) -> str:
        """One string with every container-side value replaced."""
        for old, new in sorted(self.replacements.items(), key=lambda kv: -len(kv[0])):
            value = value.replace(old, new)
        return value

    def env(self, service: Mapping[str, Any], base: Mapping[str, str]) -> dict[str, str]:
        """The process environment for a service: `base` plus its mapped environment."""
        env = dict(base)
        env.update({k: self.text(v) for k, v in environment(service).items()})
        env.pop("REDISCLI_AUTH", None)  # the test's Redis has no password
        return env

    def argv(self, command: list[str]) -> list[str]:
        """A service's command, with `horn` and `python` as this checkout's."""
        argv = [self.text(str(part)) for part in command]
        if argv[0] == "horn":
            return [python(), "-m", "horn.cli", *argv[1:]]
        if argv[0] == "python":
            return [python(), *argv[1:]]
        return argv

    def healthcheck(self, service: Mapping[str, Any]) -> list[str]:
        """A service's healthcheck `test` as a native command."""
        test = service["healthcheck"]["test"]
        if test[0] == "CMD-SHELL":
            return ["sh", "-c", self.text(test[1]).replace("python ", shlex.quote(python()) + " ")]
        assert test[0] == "CMD", test
        return self.argv(test[1:])
