"""A minimal PEP 517 build backend for the agentspend package, standard library only.

setuptools cannot build wheels here without the ``wheel`` package, and the package has nothing to
compile, so this writes the wheel (and an sdist) itself: the files of ``src/agentspend`` plus
``*.dist-info/METADATA``, ``WHEEL`` and ``RECORD``. Metadata comes from ``pyproject.toml``
([project]: name, description, requires-python, readme) and the version from
``src/agentspend/_version.py``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "agentspend"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _project():
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("[project]", 1)[1].split("\n[", 1)[0]
    fields = dict(re.findall(r'^([A-Za-z-]+)\s*=\s*"([^"]*)"', section, re.M))
    with open(os.path.join(ROOT, "src", PACKAGE, "_version.py"), encoding="utf-8") as f:
        fields["version"] = re.search(r'__version__\s*=\s*"([^"]+)"', f.read()).group(1)
    return fields


def _metadata():
    p = _project()
    lines = [
        "Metadata-Version: 2.1",
        "Name: " + p["name"],
        "Version: " + p["version"],
        "Summary: " + p.get("description", ""),
        "Requires-Python: " + p.get("requires-python", ">=3.9"),
        "Classifier: Programming Language :: Python :: 3",
        "Classifier: Typing :: Typed",
    ]
    readme = p.get("readme")
    body = ""
    if readme:
        lines.append("Description-Content-Type: text/markdown")
        with open(os.path.join(ROOT, readme), encoding="utf-8") as f:
            body = f.read()
    return p, "\n".join(lines) + "\n\n" + body


def _files():
    base = os.path.join(ROOT, "src")
    for folder, dirs, names in os.walk(os.path.join(base, PACKAGE)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith((".py", ".typed")):
                full = os.path.join(folder, name)
                yield os.path.relpath(full, base).replace(os.sep, "/"), full


def _digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _write(zf, records, name, data):
    info = zipfile.ZipInfo(name, ZIP_DATE)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)
    records.append("{},{},{}".format(name, _digest(data), len(data)))


def _dist_info(p, metadata):
    name = "{}-{}.dist-info".format(p["name"], p["version"])
    wheel = "Wheel-Version: 1.0\nGenerator: agentspend_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    return name, {"METADATA": metadata.encode("utf-8"), "WHEEL": wheel.encode("utf-8")}


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    p, metadata = _metadata()
    name, files = _dist_info(p, metadata)
    os.makedirs(os.path.join(metadata_directory, name), exist_ok=True)
    for fname, data in files.items():
        with open(os.path.join(metadata_directory, name, fname), "wb") as f:
            f.write(data)
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    p, metadata = _metadata()
    filename = "{}-{}-py3-none-any.whl".format(p["name"], p["version"])
    dist_info, files = _dist_info(p, metadata)
    records = []
    os.makedirs(wheel_directory, exist_ok=True)
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as zf:
        for arcname, full in _files():
            with open(full, "rb") as f:
                _write(zf, records, arcname, f.read())
        for fname, data in files.items():
            _write(zf, records, dist_info + "/" + fname, data)
        records.append(dist_info + "/RECORD,,")
        _write(zf, [], dist_info + "/RECORD", ("\n".join(records) + "\n").encode("utf-8"))
    return filename


def build_sdist(sdist_directory, config_settings=None):
    p, metadata = _metadata()
    stem = "{}-{}".format(p["name"], p["version"])
    os.makedirs(sdist_directory, exist_ok=True)
    paths = ["pyproject.toml", "README.md", "_build/agentspend_build.py"]
    paths += ["src/" + arc for arc, _ in _files()]
    tests = os.path.join(ROOT, "tests")
    paths += sorted("tests/" + n for n in os.listdir(tests) if n.endswith(".py"))
    with tarfile.open(os.path.join(sdist_directory, stem + ".tar.gz"), "w:gz", format=tarfile.PAX_FORMAT) as tf:
        for rel in paths:
            tf.add(os.path.join(ROOT, rel), arcname=stem + "/" + rel, recursive=False)
        data = metadata.encode("utf-8")
        info = tarfile.TarInfo(stem + "/PKG-INFO")
        info.size = len(data)
        info.mode = 0o644
        tf.addfile(info, io.BytesIO(data))
    return stem + ".tar.gz"
