"""Session fixtures: every dataset layout of layout_fixtures.py built once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from layout_fixtures import (
    make_affectnet,
    make_bp4d,
    make_casme2,
    make_casme3,
    make_dfme,
    make_disfa,
    make_ferplus,
    make_folder,
    make_rafdb,
    make_samm,
    make_smic,
    megc_manifest,
)

# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def layouts(tmp_path_factory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Every layout built once: name → (root, expected)."""
    base = tmp_path_factory.mktemp("layouts")
    out = {}
    for name, make in [
        ("casme2", lambda r: make_casme2(r, cropped=True)),
        ("samm", make_samm),
        ("casme3", make_casme3),
        ("smic", make_smic),
        ("dfme", make_dfme),
        ("rafdb", make_rafdb),
        ("ferplus", make_ferplus),
        ("affectnet", make_affectnet),
        ("disfa", make_disfa),
        ("bp4d", make_bp4d),
        ("folder", make_folder),
    ]:
        root = base / name
        root.mkdir()
        out[name] = (root, make(root))
    megc = base / "megc"
    megc.mkdir()
    make_casme2(megc / "CASME2")
    make_samm(megc / "SAMM")
    make_smic(megc / "SMIC")
    out["megc2019"] = (
        megc,
        {"samples": 12, "groups": 8, "classes": {"negative": 6, "positive": 3, "surprise": 3}},
    )
    manifest = base / "manifest" / "megc.csv"
    manifest.parent.mkdir()
    out["csv"] = (manifest, megc_manifest(manifest))
    return out
