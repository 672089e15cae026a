"""The artifact ``make build`` makes, built without SAM CLI: the shared layer through its own Makefile, run as
``sam build`` runs it (BuildMethod: makefile: in a scratch copy of the layer's folder, ARTIFACTS_DIR set), and
each function's folder copied (SAM's python build of a folder without requirements.txt)."""

import os
import shutil
import subprocess  # nosec B404
import sys
from pathlib import Path

from music_local.template import Template
from sam_template.loader import ROOT

LAYER_SOURCE = ROOT / "layers" / "shared"
UV = ROOT / ".tools" / "uv" / "bin" / "uv"  # make install's: the layer's wheels come from its cache


def build_layer(scratch: Path, artifacts: Path) -> Path:
    """Build the layer from a copy of its folder at ``scratch`` (the dev tree's ``__pycache__`` included, as SAM
    copies it) into ``artifacts``; the layer's python folder."""
    shutil.copytree(LAYER_SOURCE, scratch)
    subprocess.run(  # noqa: S603 - make, on the project's own Makefile # nosec B603 B607
        ["make", "--makefile", str(scratch / "Makefile"), "build-SharedLayer"],  # noqa: S607
        cwd=scratch,
        env=os.environ | {"ARTIFACTS_DIR": str(artifacts), "PYTHON": sys.executable} | _uv(),
        capture_output=True,
        check=True,
        timeout=900,
    )
    return artifacts / "python"


def _uv() -> dict[str, str]:
    return {"UV": str(UV)} if UV.exists() else {}


def build_artifact(destination: Path) -> Path:
    """A build directory as ``sam build --build-dir destination`` leaves it, for the functions and the layer."""
    build_layer(destination.with_name(f"{destination.name}-layer-source"), destination / "SharedLayer")
    template = Template.load()
    for function in template.resources_of_type("AWS::Serverless::Function"):
        shutil.copytree(template.function_code(function).directory, destination / function)
    return destination
