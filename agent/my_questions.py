"""The learner's own questions, as the CLI (`tutor practice ...`) and the Practice tab ask
for them: generate from an ingested file, list, edit, delete. One library call each."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.learner_questions import LearnerQuestion
from agent.limits import check_question_id
from agent.practice import open_progress
from agent.question_bank import load_settings_bank
from agent.question_generation import MAX_QUESTIONS, GenerationReport, generate_questions
from agent.runtime import Runtime
from core.errors import InputError
from core.limits import check_count, check_profile, check_text
from core.settings import Settings
from corpus.records import Chunk

MAX_DOC_NAME_CHARS = 4096
GENERATOR_MAX_TOKENS = 256  # one question and three key points with quotes fit in ~150


@dataclass(frozen=True)
class GenerateResult:
    report: GenerationReport
    added: tuple[str, ...]
    profile: str

    def to_json(self) -> dict[str, Any]:
        r = self.report
        return {
            "profile": self.profile,
            "doc": r.doc,
            "requested": r.requested,
            "calls": r.calls,
            "kept": len(r.kept),
            "share_kept": round(len(r.kept) / r.calls, 3) if r.calls else 0.0,
            "added": list(self.added),
            "questions": [question_json(q) for q in r.kept],
            "rejected": [{"chunk_id": x.chunk_id, "reason": x.reason} for x in r.rejected],
            "dropped_points": [
                {"chunk_id": x.chunk_id, "reason": x.reason} for x in r.dropped_points
            ],
            "seconds": r.seconds,
        }


def question_json(q: Any) -> dict[str, Any]:
    return {
        "id": q.id,
        "question": q.question,
        "doc": q.doc,
        "section": q.section,
        "key_points": [
            {"text": p.text, "quote": p.quote, "support": p.support} for p in q.points
        ],
    }


def learner_documents(rt: Runtime) -> list[str]:
    """Names of the ingested learner files (`tutor ingest`), in index order."""
    from index.store import read_meta

    return [d.name for d in read_meta(rt.settings).documents if d.origin == "learner"]


def _resolve_doc(rt: Runtime, doc: str | None, path: str | Path | None) -> str:
    from index.ingest import ingest_paths, learner_doc_name

    if (doc is None) == (path is None):
        raise InputError("name one ingested document (--doc) or one file to ingest (PATH)")
    if path is not None:
        report = ingest_paths(rt.settings, rt.embedder, [path])
        if report.errors:
            raise InputError(f"{path}: {report.errors[0]['reason']}")
        return learner_doc_name(Path(path))
    assert doc is not None
    if not isinstance(doc, str) or not doc.strip() or len(doc) > MAX_DOC_NAME_CHARS:
        raise InputError(
            f"--doc must name an ingested file (at most {MAX_DOC_NAME_CHARS} characters)"
        )
    doc = doc.strip()
    names = learner_documents(rt)
    exact = [n for n in names if n == doc]
    by_file = [n for n in names if Path(n).name == doc]
    found = exact or by_file
    if len(found) == 1:
        return found[0]
    if not names:
        raise InputError("no ingested files yet: `tutor ingest FILE` first, or give PATH")
    if len(found) > 1:
        raise InputError(f"{doc!r} names {len(found)} ingested files: give the full path")
    shown = ", ".join(Path(n).name for n in names[:10])
    raise InputError(f"no ingested file named {doc!r}; ingested: {shown}")


def _doc_chunks(rt: Runtime, doc: str) -> list[Chunk]:
    chunks = [c for c in rt.retriever.chunks if c.source == doc]
    if not chunks:
        raise InputError(f"{doc}: the index holds no passages of it")
    return chunks


def generate_practice(
    rt: Runtime,
    profile: str,
    *,
    doc: str | None = None,
    path: str | Path | None = None,
    n: Any = 3,
    on_progress: Callable[[int, int], None] | None = None,
) -> GenerateResult:
    """Ask the local model for up to `n` questions over one ingested file (or ingest
    `path` first), keep the checked ones, and add them to `profile`'s own bank."""
    settings = rt.settings
    profile = check_profile(profile, settings.limits.max_profile_chars)
    n = check_count(n, "the number of questions", 1, MAX_QUESTIONS)
    name = _resolve_doc(rt, doc, path)
    chunks = _doc_chunks(rt, name)
    bank = load_settings_bank(settings)
    with open_progress(settings, bank) as store:
        known = [q.text_en for q in bank] + [q.question.question for q in store.own_questions(profile)]
    report = generate_questions(
        rt.chat_model(max_tokens=GENERATOR_MAX_TOKENS),
        rt.support_model,
        rt.embedder,
        name,
        chunks,
        n,
        known,
        settings.agent.self_check_match,
        on_progress,
    )
    with open_progress(settings, bank) as store:
        added = store.add_own_questions(profile, report.kept) if report.kept else []
    return GenerateResult(report, tuple(added), profile)


def own_questions(settings: Settings, profile: str) -> list[LearnerQuestion]:
    profile = check_profile(profile, settings.limits.max_profile_chars)
    with open_progress(settings, load_settings_bank(settings)) as store:
        return store.own_questions(profile)


def edit_own_question(
    settings: Settings,
    profile: str,
    question_id: str,
    question: str | None = None,
    points: Sequence[str] | None = None,
) -> LearnerQuestion:
    profile = check_profile(profile, settings.limits.max_profile_chars)
    lim = settings.limits
    if question is not None:
        check_text(question, "the question", lim.max_question_chars, "limits.max_question_chars")
    for p in points or ():
        check_text(p, "a key point", lim.max_question_chars, "limits.max_question_chars")
    with open_progress(settings, load_settings_bank(settings)) as store:
        return store.edit_own_question(
            profile,
            check_question_id(question_id),
            question,
            None if points is None else list(points),
        )


def delete_own_question(settings: Settings, profile: str, question_id: str) -> str:
    """Delete one of `profile`'s own questions; returns its id as stored."""
    profile = check_profile(profile, settings.limits.max_profile_chars)
    question_id = check_question_id(question_id)
    with open_progress(settings, load_settings_bank(settings)) as store:
        store.delete_own_question(profile, question_id)
    return question_id
