"""API keys: 401 without a valid one, revocation at once, the admin API, the CLI, the
bind rule and the per-key request rate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from horn.cli import server as cli
from horn.server.store import users
from horn.server.store.db import make_engine, session_factory
from horn.settings import get_server_settings as get_settings
from tests.security.conftest import Server, assert_error, make_server

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("headers, needle", [
    ({}, "needs an API key"),
    ({"Authorization": "Bearer nope"}, "not valid"),
    ({"Authorization": "Bearer horn_00000000_" + "a" * 43}, "not valid"),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, "Bearer"),
    ({"Authorization": "Bearer "}, "Bearer"),
])
def test_missing_or_invalid_key_is_401(server: Server, headers: dict[str, str],
                                       needle: str) -> None:
    for method, path in (("GET", "/v1/jobs"), ("POST", "/v1/models"),
                         ("GET", "/v1/admin/users"), ("PUT", "/v1/blobs/" + "0" * 64)):
        response = server.client.request(method, path, headers=headers)
        error = assert_error(response, 401, needle)
        assert error["code"] == "unauthenticated"
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert server.client.get("/healthz").status_code == 200  # health needs no key


def test_a_tampered_key_is_refused(server: Server) -> None:
    key = server.keys["alice"]
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert_error(server.client.get("/v1/jobs", headers={"Authorization": f"Bearer {tampered}"}),
                 401)


def test_a_revoked_key_is_refused_at_once(server: Server) -> None:
    created = server.call("admin", "POST", "/v1/admin/keys", json={"user": "carol"})
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith(f"horn_{created.json()['prefix']}_")
    headers = {"Authorization": f"Bearer {key}"}
    assert server.client.get("/v1/me", headers=headers).json()["name"] == "carol"
    revoked = server.call("admin", "DELETE", f"/v1/admin/keys/{created.json()['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert_error(server.client.get("/v1/me", headers=headers), 401, "revoked")
    assert_error(server.client.get("/v1/jobs", headers=headers), 401)


def test_admin_api(server: Server) -> None:
    listing = server.call("admin", "GET", "/v1/admin/users").json()
    assert {u["name"] for u in listing["data"]} >= {"admin", "alice", "bob"}
    assert server.call("admin", "POST", "/v1/admin/users",
                       json={"name": "dave", "is_admin": False}).status_code == 201
    assert_error(server.call("admin", "POST", "/v1/admin/users", json={"name": "dave"}), 409)
    assert_error(server.call("admin", "POST", "/v1/admin/users", json={"name": "../x"}), 422)
    server.call("alice", "GET", "/v1/me")
    keys = server.call("admin", "GET", "/v1/admin/keys", params={"user": "alice"}).json()
    assert keys["count"] == 1 and "key" not in keys["data"][0]
    assert keys["data"][0]["last_used_at"]
    assert_error(server.call("admin", "DELETE", "/v1/admin/keys/nope"), 404)
    for method, path in (("GET", "/v1/admin/users"), ("POST", "/v1/admin/users"),
                         ("GET", "/v1/admin/keys"), ("POST", "/v1/admin/keys"),
                         ("DELETE", "/v1/admin/keys/x")):
        body = {"name": "x"} if path.endswith("users") else {"user": "x"}
        response = server.call("alice", method, path,
                               json=body if method == "POST" else None)
        assert_error(response, 403, "administrator")
    # Alice cannot revoke her own way into bob's key either.
    bob_key = users.hash_key(server.keys["bob"])
    assert bob_key not in server.call("admin", "GET", "/v1/admin/keys").text


def test_keys_are_stored_only_as_hashes(server: Server) -> None:
    engine = make_engine(server.settings.resolved_database_url())
    with session_factory(engine)() as session:
        rows = users.list_keys(session)
        stored = " ".join(f"{r.id} {r.prefix} {r.hash}" for r in rows)
    engine.dispose()
    for key in server.keys.values():
        secret = key.split("_", 2)[2]  # may itself hold "_" (URL-safe base64)
        assert key not in stored and secret not in stored
        assert users.hash_key(key) in stored


def _horn(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "horn.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_the_keys_cli(tmp_path: Path) -> None:
    srv = make_server(tmp_path)
    env = dict(os.environ, HORN_DATABASE_URL=srv.settings.resolved_database_url(),
               HORN_DATA_DIR=str(tmp_path))
    done = _horn(env, "keys", "create", "--user", "erin", "--admin", "--json")
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    plain = _horn(env, "keys", "create", "--user", "frank")
    assert plain.returncode == 0 and "shown only this once" in plain.stderr
    frank_key = plain.stdout.strip()
    with srv.client:
        me = srv.client.get("/v1/me", headers={"Authorization": f"Bearer {created['key']}"})
        assert me.json()["name"] == "erin" and me.json()["is_admin"] is True
        listing = _horn(env, "keys", "list")
        assert created["prefix"] in listing.stdout and created["key"] not in listing.stdout
        revoke = _horn(env, "keys", "revoke", created["prefix"])
        assert revoke.returncode == 0 and "Revoked" in revoke.stdout
        assert_error(srv.client.get("/v1/me", headers={
            "Authorization": f"Bearer {created['key']}"}), 401)
        assert srv.client.get("/v1/me", headers={
            "Authorization": f"Bearer {frank_key}"}).json()["name"] == "frank"
    assert _horn(env, "keys", "revoke", "nope").returncode != 0
    bad = _horn(env, "keys", "create", "--user", "bad name!")
    assert bad.returncode != 0 and "user name" in bad.stderr


def test_public_bind_needs_auth_or_the_opt_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HORN_ALLOW_UNAUTHENTICATED_BIND", raising=False)
    monkeypatch.setenv("HORN_AUTH", "none")
    get_settings.cache_clear()
    try:
        cli._check_bind("127.0.0.1")
        with pytest.raises(SystemExit, match="HORN_AUTH=keys"):
            cli._check_bind("0.0.0.0")
        monkeypatch.setenv("HORN_AUTH", "keys")
        get_settings.cache_clear()
        cli._check_bind("0.0.0.0")
        cli._check_bind("10.1.2.3")
    finally:
        get_settings.cache_clear()


def test_without_auth_everything_is_the_local_users(tmp_path: Path) -> None:
    srv = make_server(tmp_path)
    srv.settings.auth = "none"
    with srv.client:
        me = srv.client.get("/v1/me", headers={"Authorization": "Bearer garbage"}).json()
        assert me["name"] == "local"


def test_request_rate_per_key(tmp_path: Path) -> None:
    srv = make_server(tmp_path, rate_limit_per_second=0.5, rate_limit_burst=3)
    with srv.client:
        statuses = [srv.call("alice", "GET", "/v1/jobs").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        response = srv.call("alice", "GET", "/v1/jobs")
        assert_error(response, 429, "requests per second")
        assert int(response.headers["Retry-After"]) >= 1
        assert srv.call("bob", "GET", "/v1/jobs").status_code == 200  # per key
