"""How well a judge agrees with human labels: balanced accuracy and the confusion matrix
on a labelled benchmark file (WiCE, BEGIN; see ../shared/benchmarks/README.md).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from agent.support_training import begin_group, is_test_group, wice_group
from core.errors import EvalDataError
from core.jsonl import parse_line, read_lines
from evals.judge import Judge, SupportJudge
from evals.metrics import Confusion, confusion
from evals.schemas import BeginRow, WiceRow


@dataclass
class JudgeReport:
    """Agreement of the judge with human labels on a labelled file."""

    data: str
    fields: str  # "wice" | "begin"
    n: int
    confusion: Confusion
    balanced_accuracy: float
    accuracy: float
    calls: int
    cache_hits: int
    unparsed: int
    seconds: float
    judge: dict[str, Any]
    items: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["confusion"] = asdict(self.confusion)
        return d


_WICE = tuple(WiceRow.model_fields)[:3]  # claim, evidence_sentences, supported
_BEGIN = tuple(BeginRow.model_fields)[:3]  # response, knowledge, attributable
Row = WiceRow | BeginRow


def detect_fields(row: dict[str, Any]) -> str:
    if all(k in row for k in _WICE):
        return "wice"
    if all(k in row for k in _BEGIN):
        return "begin"
    raise EvalDataError(
        f"unknown labelled format: need fields {', '.join(_WICE)} (WiCE) or "
        f"{', '.join(_BEGIN)} (BEGIN), got {', '.join(sorted(row))}"
    )


def read_labelled(path: Path, fields: str = "auto") -> tuple[str, list[tuple[int, Row]]]:
    """The kind of a labelled file ("wice" or "begin", from its first row unless given)
    and its rows, each checked by that kind's schema (`evals.schemas`)."""
    lines = read_lines(path, what="the labelled file", error=EvalDataError)
    if not lines:
        raise EvalDataError(f"{path}: no rows")
    if fields == "auto":
        first = parse_line(path, lines[0][0], lines[0][1], _AnyRow, error=EvalDataError)
        fields = detect_fields(first.model_extra or {})
    if fields not in ("wice", "begin"):
        raise EvalDataError(f"fields must be auto, wice or begin, got {fields!r}")
    model: type[Row] = WiceRow if fields == "wice" else BeginRow
    return fields, [(n, parse_line(path, n, raw, model, error=EvalDataError)) for n, raw in lines]


class _AnyRow(BaseModel):
    """Any JSON object: its keys say which kind of labelled file this is."""

    model_config = ConfigDict(extra="allow")


def _sample_key(key: str) -> str:
    # A fixed pseudo-random order that does not depend on the file's order.
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _group_of(unit: tuple[str, list[tuple[int, Row]]]) -> str:
    row = unit[1][0][1]
    if isinstance(row, WiceRow):
        return wice_group(str(row.claim_id if row.claim_id is not None else unit[0]))
    return begin_group(row.knowledge)


def evaluate_labelled(
    path: Path,
    judge: Judge | SupportJudge,
    limit: int | None = None,
    fields: str = "auto",
    progress: Callable[[str, int, int], None] | None = None,
    unseen_only: bool = False,
) -> JudgeReport:
    """Run the judge on a labelled file and compare with the human labels.

    WiCE rows (claim, evidence_sentences, supported) are grouped by claim_id; a claim is
    predicted supported when any of its chunks supports it (the max over chunks, as the
    WiCE authors score it). BEGIN rows (response, knowledge, attributable): the response is
    split into claims and is attributable when every claim is supported. `limit` takes
    that many claims (WiCE) or rows (BEGIN), chosen by a fixed hash of their ids.
    """
    path = Path(path)
    kind, rows = read_labelled(path, fields)
    items: list[dict[str, Any]] = []
    units: list[tuple[str, list[tuple[int, Row]]]] = []
    if kind == "wice":
        groups: dict[str, list[tuple[int, Row]]] = {}
        for line, row in rows:
            assert isinstance(row, WiceRow)
            key = row.claim_id if row.claim_id is not None else row.id
            groups.setdefault(str(key if key is not None else line), []).append((line, row))
        units = list(groups.items())
    else:
        units = [(str(row.id if row.id is not None else line), [(line, row)]) for line, row in rows]
    if unseen_only:
        # The support model's test split: claims (WiCE) and knowledge snippets (BEGIN) its
        # weights never saw, so both judges can be compared on the same honest items.
        units = [u for u in units if is_test_group(_group_of(u))]
    units.sort(key=lambda u: _sample_key(u[0]))
    if limit is not None:
        units = units[:limit]

    calls0, hits0, unparsed0 = judge.calls, judge.cache_hits, judge.unparsed
    t0 = time.monotonic()
    gold: list[bool] = []
    pred: list[bool] = []
    for done, (unit_id, unit_rows) in enumerate(units):
        if progress:
            progress("judging", done, len(units))
        first = unit_rows[0][1]
        if isinstance(first, WiceRow):
            label = first.supported
            verdicts = []
            for _, row in unit_rows:
                assert isinstance(row, WiceRow)
                verdicts.append(judge.verdict(first.claim, list(row.evidence_sentences)))
                if verdicts[-1]:
                    break  # the max over chunks is already 1
            predicted = any(verdicts)
            items.append({"id": unit_id, "gold": label, "predicted": predicted, "chunks": verdicts})
        else:
            label = first.attributable
            claims = judge.split_claims(first.response) or [first.response]
            verdicts = []
            for c in claims:
                verdicts.append(judge.verdict(c, first.knowledge))
                if not verdicts[-1]:
                    break  # one unsupported claim makes the response not attributable
            predicted = all(verdicts)
            checked = claims[: len(verdicts)]
            items.append({"id": unit_id, "gold": label, "predicted": predicted, "claims": checked})
        gold.append(label)
        pred.append(predicted)
    if progress:
        progress("judging", len(units), len(units))
    cm = confusion(gold, pred)
    return JudgeReport(
        data=str(path),
        fields=kind,
        n=len(units),
        confusion=cm,
        balanced_accuracy=round(cm.balanced_accuracy, 4),
        accuracy=round(cm.accuracy, 4),
        calls=judge.calls - calls0,
        cache_hits=judge.cache_hits - hits0,
        unparsed=judge.unparsed - unparsed0,
        seconds=round(time.monotonic() - t0, 1),
        judge=judge.describe(),
        items=items,
    )
