"""The learning path: the roadmap's sections in its order, each with its prerequisites.

`path.json` in the rubrics folder (grading.rubrics_dir) lists every section of the shipped
roadmap (a heading path of roadmap-en.md, outer > inner) with the sections a learner should
master first. A section is *unlocked* when each prerequisite has at least
`grading.unlock_mastery` of its questions mastered (last score >= 4, as progress counts
them); a section without questions never holds anyone back. Practice offers what is due
for review first (spaced repetition, `agent.progress`), then new questions of unlocked
sections only, in the roadmap's order.

The path belongs to the shipped roadmap, as the practice questions do: over another corpus
there is none and every question is open (`load_settings_path` logs it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from agent.progress import DueItem, SectionMastery
from agent.question_bank import roadmap_sections
from agent.rubrics import DEFAULT_CORPUS_DIR
from core.errors import EvalDataError
from core.settings import Settings
from corpus.questions import SelfCheckQuestion
from corpus.text import section_label

PATH_FILE = "path.json"
log = logging.getLogger(__name__)


class _PathFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    about: str = ""
    sections: dict[str, list[str]]


@dataclass(frozen=True)
class Prerequisites:
    """Sections in the roadmap's order, each with the sections to master first."""

    order: tuple[str, ...]
    needs: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class PathStep:
    section: str  # heading path, outer > inner
    prerequisites: tuple[str, ...]
    questions: int
    attempted: int
    mastered: int
    due: int
    unlocked: bool
    waiting_for: tuple[str, ...]  # prerequisites not yet mastered enough

    @property
    def mastery(self) -> float:
        """Share of the section's questions mastered (1.0 for a section without any)."""
        return self.mastered / self.questions if self.questions else 1.0


def section_path(question: SelfCheckQuestion) -> str:
    """The path key of a question: its whole heading path.

    >>> q = SelfCheckQuestion("SQ03", ("Background Knowledge", "RNN"), "Why GRU?", {}, (), ())
    >>> section_path(q)
    'Background Knowledge > RNN'
    """
    return section_label(question.section)


def _cycle(needs: Mapping[str, Sequence[str]]) -> list[str] | None:
    """One cycle of prerequisites, as the sections it passes, or None."""
    state: dict[str, int] = {}  # 1: on the current walk, 2: done

    def walk(node: str, trail: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in needs.get(node, ()):
            if state.get(nxt) == 1:
                return [*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt]
            if nxt not in state and (found := walk(nxt, [*trail, nxt])):
                return found
        state[node] = 2
        return None

    for start in needs:
        if start not in state and (found := walk(start, [start])):
            return found
    return None


def parse_prerequisites(data: object, sections: Sequence[str], where: str) -> Prerequisites:
    """Check a path file against the roadmap's sections (in the roadmap's order): every
    section listed once, every prerequisite a section, no cycle."""
    try:
        parsed = _PathFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise EvalDataError(f"{where}: field {field!r}: {first['msg']}") from exc
    known = set(sections)
    for section, needs in parsed.sections.items():
        if section not in known:
            raise EvalDataError(f"{where}: {section!r} is not a section of the roadmap")
        for need in needs:
            if need not in known:
                raise EvalDataError(
                    f"{where}: {section!r} needs {need!r}, which is not a section of the roadmap"
                )
            if need == section:
                raise EvalDataError(f"{where}: {section!r} lists itself as a prerequisite")
    missing = [s for s in sections if s not in parsed.sections]
    if missing:
        raise EvalDataError(f"{where}: sections missing from the path: {', '.join(missing)}")
    if cycle := _cycle(parsed.sections):
        raise EvalDataError(f"{where}: prerequisites go round in a circle: {' -> '.join(cycle)}")
    return Prerequisites(
        order=tuple(sections), needs={s: tuple(parsed.sections[s]) for s in sections}
    )


def load_prerequisites(rubrics_dir: Path, corpus_dir: Path) -> Prerequisites:
    """The path file of `rubrics_dir`, checked against `corpus_dir`'s roadmap."""
    path = Path(rubrics_dir) / PATH_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EvalDataError(f"{path}: cannot read the learning path ({exc})") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EvalDataError(f"{path}: not valid JSON ({exc})") from exc
    sections = [section_label(p) for p in roadmap_sections(Path(corpus_dir))]
    return parse_prerequisites(data, sections, path.name)


def load_settings_path(settings: Settings) -> Prerequisites | None:
    """The learning path of the configured bank; None (logged) when the corpus is not the
    shipped roadmap or the rubrics folder has no path file, so every question is open."""
    corpus_dir, rubrics_dir = settings.corpus.dir, settings.grading.rubrics_dir
    if Path(corpus_dir).resolve() != DEFAULT_CORPUS_DIR.resolve():
        log.info("no learning path: %s is not the shipped corpus", corpus_dir)
        return None
    if not (Path(rubrics_dir) / PATH_FILE).is_file():
        log.info("no learning path: %s has no %s", rubrics_dir, PATH_FILE)
        return None
    return load_prerequisites(rubrics_dir, corpus_dir)


def build_path(
    prerequisites: Prerequisites,
    bank: Sequence[SelfCheckQuestion],
    mastery: Sequence[SectionMastery],
    section_labels: Mapping[str, str],
    unlock_at: float,
) -> list[PathStep]:
    """Each roadmap section with its questions' progress and whether it is unlocked.

    `mastery` is progress per section label (`agent.progress`), `section_labels` maps a
    section path to that label. Pure: the same inputs give the same path.
    """
    by_label = {m.section: m for m in mastery}
    counts = {s: 0 for s in prerequisites.order}
    for q in bank:
        key = section_path(q)
        if key in counts:
            counts[key] += 1

    def done(section: str) -> tuple[int, int, int]:
        m = by_label.get(section_labels.get(section, ""))
        return (m.attempted, m.mastered, m.due) if m else (0, 0, 0)

    def enough(section: str) -> bool:
        total = counts[section]
        return not total or done(section)[1] / total >= unlock_at

    steps = []
    for section in prerequisites.order:
        needs = prerequisites.needs[section]
        waiting = tuple(n for n in needs if not enough(n))
        attempted, mastered, due = done(section)
        steps.append(
            PathStep(
                section=section,
                prerequisites=needs,
                questions=counts[section],
                attempted=attempted,
                mastered=mastered,
                due=due,
                unlocked=not waiting,
                waiting_for=waiting,
            )
        )
    return steps


def open_items(
    due: Sequence[DueItem], steps: Sequence[PathStep], bank: Sequence[SelfCheckQuestion]
) -> list[DueItem]:
    """What practice may offer now: reviews that are due, and new questions only of
    unlocked sections (questions outside the path stay open)."""
    locked = {s.section for s in steps if not s.unlocked}
    where = {q.id: section_path(q) for q in bank}
    return [d for d in due if d.last_score is not None or where.get(d.question_id) not in locked]
