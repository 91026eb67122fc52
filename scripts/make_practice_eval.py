"""Write evals/practice-questions.jsonl: every practice question of the bank as an
answerable faithfulness item (schema in evals/FAITHFULNESS.md), its gold passages the
quotes its rubric's key points cite (checked word for word when the bank loads).

    .venv/bin/python scripts/make_practice_eval.py

Run `tutor eval run --eval-set evals/practice-questions.jsonl [--subset N]` on it: the
answered rate and faithfulness on questions nobody tuned the tutor on (issue 17).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent.question_bank import load_practice_questions  # noqa: E402
from agent.rubrics import DEFAULT_CORPUS_DIR  # noqa: E402

OUT = ROOT / "evals" / "practice-questions.jsonl"


def main() -> int:
    rows = []
    for question, rubric, reference in load_practice_questions(
        ROOT / "evals" / "rubrics", DEFAULT_CORPUS_DIR
    ):
        gold = [
            {"source": kp.source.source, "substring": kp.source.excerpt}
            for kp in rubric.key_points
            if kp.source is not None
        ]
        rows.append(
            {
                "id": question.id,
                "version": "1",
                "question": question.text_en,
                "language": "en",
                "history": [],
                "answerable": True,
                "reference_answer": reference,
                "gold": gold,
                "tags": ["practice", question.difficulty or "unrated", question.section[0]],
            }
        )
    with OUT.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} items to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
