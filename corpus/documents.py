"""Loading the shipped corpus: manifest.json, the documents it lists, and the study notes.

The manifest maps each file name to its metadata. Study notes (`notes/*.md`, optional)
are not listed there: their title comes from their front matter, they are English and
of kind "study-note", and their document name is "notes/<file name>".
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from core.errors import CorpusError
from corpus.chunking import STRUCTURES
from corpus.records import SourceDocument

MANIFEST_NAME = "manifest.json"
NOTES_DIR = "notes"
LANGUAGES = frozenset({"en", "es", "ja", "zh-Hans", "zh-Hant", "fr"})
KINDS = frozenset({"roadmap", "notes", "reading-list", "news"})
_REQUIRED = ("title", "language", "kind", "url", "license", "translation_of")


def _bad(path: Path, problem: str) -> CorpusError:
    return CorpusError(f"{path}: {problem} - fix the manifest or restore it from the repository")


def load_manifest(corpus_dir: Path) -> dict[str, Any]:
    """Read and check `corpus_dir/manifest.json`; return it as parsed.

    Shape: {"version": 1, "documents": {file name: {title, language, kind, url, license,
    license_file, translation_of, origin, structure (optional: how its sections are found,
    `corpus.chunking.STRUCTURES`)}}}. Raises CorpusError naming the problem.
    """
    path = Path(corpus_dir) / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CorpusError(
            f"{path}: corpus manifest missing - is {corpus_dir} the corpus folder "
            "(setting corpus.dir)?"
        ) from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(path, f"not readable JSON ({exc})") from exc
    docs = data.get("documents") if isinstance(data, dict) else None
    if not isinstance(docs, dict) or not docs:
        raise _bad(path, "'documents' must be a non-empty object keyed by file name")
    for name, entry in docs.items():
        if not isinstance(entry, dict):
            raise _bad(path, f"entry {name!r} must be an object")
        missing = [key for key in _REQUIRED if key not in entry]
        if missing:
            raise _bad(path, f"entry {name!r} lacks {', '.join(missing)}")
        if not isinstance(entry["title"], str) or not entry["title"].strip():
            raise _bad(path, f"entry {name!r}: title must be a non-empty string")
        if entry["language"] not in LANGUAGES:
            raise _bad(
                path, f"entry {name!r}: language {entry['language']!r} not in {sorted(LANGUAGES)}"
            )
        if entry["kind"] not in KINDS:
            raise _bad(path, f"entry {name!r}: kind {entry['kind']!r} not in {sorted(KINDS)}")
        structure = entry.get("structure")
        if structure is not None and structure not in STRUCTURES:
            raise _bad(
                path, f"entry {name!r}: structure {structure!r} not in {sorted(STRUCTURES)}"
            )
        original = entry["translation_of"]
        if original is not None and original not in docs:
            raise _bad(path, f"entry {name!r}: translation_of {original!r} is not in the manifest")
    return data


def _read_text(path: Path) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError as exc:
        raise CorpusError(
            f"{path}: listed in {MANIFEST_NAME} but missing - restore it from the shipped corpus"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}: cannot be read as UTF-8 text ({exc})") from exc


def load_notes(corpus_dir: Path) -> list[SourceDocument]:
    """The study notes in `corpus_dir/notes/*.md`, sorted by file name ([] without the folder)."""
    from corpus.notes_meta import parse_note

    notes_dir = Path(corpus_dir) / NOTES_DIR
    if not notes_dir.is_dir():
        return []
    docs = []
    for path in sorted(notes_dir.glob("*.md")):
        text = _read_text(path)
        meta, _ = parse_note(text, path.name)
        docs.append(
            SourceDocument(
                name=f"{NOTES_DIR}/{path.name}",
                path=path,
                title=meta.title,
                language="en",
                kind="study-note",
                text=text,
            )
        )
    return docs


def load_corpus(corpus_dir: Path) -> list[SourceDocument]:
    """Every manifest document in manifest order, then the study notes by file name."""
    corpus_dir = Path(corpus_dir)
    manifest = load_manifest(corpus_dir)
    docs = []
    for name, entry in manifest["documents"].items():
        licence_file = entry.get("license_file")
        if licence_file and not (corpus_dir / licence_file).is_file():
            raise CorpusError(
                f"{corpus_dir / licence_file}: licence file of {name} missing - it must ship "
                "beside the document"
            )
        path = corpus_dir / name
        docs.append(
            SourceDocument(
                name=name,
                path=path,
                title=entry["title"],
                language=entry["language"],
                kind=entry["kind"],
                text=_read_text(path),
                url=entry["url"],
                license=entry["license"],
                translation_of=entry["translation_of"],
                structure=entry.get("structure"),
            )
        )
    return docs + load_notes(corpus_dir)


@functools.lru_cache(maxsize=64)
def _cached_text(path: Path, mtime_ns: int) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def original_text(corpus_dir: Path, source: str) -> str | None:
    """The text a chunk's offsets refer to, read from its file; None where that is not
    the file itself (HTML and PDF learner files index their extracted text)."""
    path = Path(source) if Path(source).is_absolute() else corpus_dir / source
    if path.suffix.lower() not in (".md", ".txt"):
        return None
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return None
    return _cached_text(path, mtime)
