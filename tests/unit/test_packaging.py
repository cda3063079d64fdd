"""horn installs as one package, `horn`, and its SDK imports without TensorFlow."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_is_listed_in_pyproject() -> None:
    setup = _setuptools()
    found = set()
    for root_package, folder in setup["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            relative = init.parent.relative_to(ROOT / folder)
            found.add(".".join([root_package, *relative.parts]))
    assert sorted(found) == sorted(setup["packages"])


def test_the_wheel_holds_only_the_horn_package(tmp_path: Path) -> None:
    # Built from a copy: setuptools keeps its build folder inside the source tree.
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in _setuptools()["package-dir"].values():
        shutil.copytree(ROOT / folder, source / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(tmp_path), str(source)],
                   check=True, cwd=tmp_path, capture_output=True)
    (wheel,) = tmp_path.glob("horn-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    tops = {name.split("/")[0] for name in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"horn"}
    for expected in ("horn/__init__.py", "horn/keras/__init__.py", "horn/server/main.py",
                     "horn/worker/app.py", "horn/schemas/keras_catalog.json",
                     "horn/server/dashboard/templates/base.html",
                     "horn/server/migrations/versions/0001_initial_tables.py"):
        assert expected in names


def test_help_shows_keras_signatures_without_tensorflow_or_a_server() -> None:
    code = ("import sys, pydoc\n"
            "from horn import keras\n"
            "text = pydoc.render_doc(keras.layers.Dense, renderer=pydoc.plaintext)\n"
            "print(text)\n"
            "print('LOADED', sorted(m for m in ('tensorflow', 'keras', 'jax', 'torch') "
            "if m in sys.modules))\n")
    # Run outside the source tree, so that only the installed `horn` can be imported.
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=Path(sys.executable).parent,
                          env={"HORN_URL": "http://127.0.0.1:9", "PATH": ""})
    assert "Dense(units, activation=None, use_bias=True" in done.stdout
    assert "LOADED []" in done.stdout


def test_one_version() -> None:
    import horn
    from horn.server import __version__ as server_version

    assert "version" in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "dynamic"]
    assert server_version == horn.__version__


def test_deployment_files_name_the_package_version() -> None:
    import re

    import horn

    assert f"HORN_VERSION={horn.__version__}\n" in (ROOT / ".env.example").read_text()
    for compose in ("docker-compose.yml", "docker-compose.cpu.yml"):
        defaults = set(re.findall(r"\$\{HORN_VERSION:-([^}]+)\}", (ROOT / compose).read_text()))
        assert defaults == {horn.__version__}, compose


def test_server_worker_and_cli_load_none_of_the_sdk() -> None:
    """`horn.server`, `horn.worker` and `horn.cli` import the `horn` package, which loads
    its SDK modules (`horn.keras`, `horn.jobs`, the HTTP client) only when used."""
    code = ("import sys, horn.cli.main, horn.server.main, horn.worker.app\n"
            "print(sorted(m for m in sys.modules if m.startswith('horn.') and not "
            "m.startswith(('horn.server', 'horn.worker', 'horn.cli', 'horn.settings', "
            "'horn.schemas'))))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=Path(sys.executable).parent)
    assert done.stdout.strip() == "['horn.errors']"
