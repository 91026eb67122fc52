"""`tutor flashcards export|import`: the self-check questions as an Anki deck or CSV,
and a check of a CSV brought back (which applies nothing)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from agent.runtime import Runtime


def register(sub: Any, handlers: dict[str, Any]) -> None:
    p = sub.add_parser(
        "flashcards", help="export the questions with their short answers as Anki or CSV cards"
    )
    actions = p.add_subparsers(dest="flashcards_action", metavar="ACTION", required=True)

    e = actions.add_parser(
        "export",
        help="write the due (default) or all questions with their study notes' short answers "
        "and readings as an Anki deck (.apkg) or CSV",
    )
    e.add_argument(
        "--format",
        choices=["apkg", "csv"],
        help="apkg (Anki) or csv (default: from the extension of --out)",
    )
    which = e.add_mutually_exclusive_group()
    which.add_argument(
        "--due",
        dest="due",
        action="store_true",
        default=True,
        help="only the learner's due questions (default; never-seen questions are due)",
    )
    which.add_argument("--all", dest="due", action="store_false", help="every question")
    e.add_argument("--learner", help="whose due questions (default: grading.profile)")
    e.add_argument(
        "--out", type=Path, required=True, help="the file to write (its folder must exist)"
    )
    e.add_argument("--json", action="store_true")
    e.set_defaults(handler_key="flashcards export")
    handlers["flashcards export"] = cmd_export

    i = actions.add_parser(
        "import",
        help="check a flashcards CSV against the shipped questions: reports unchanged, "
        "changed (not applied) and bad rows; changes nothing",
    )
    i.add_argument("path", type=Path, metavar="PATH")
    i.add_argument("--json", action="store_true")
    i.set_defaults(handler_key="flashcards import")
    handlers["flashcards import"] = cmd_import


def cmd_export(args: argparse.Namespace, rt: Runtime) -> int:
    from agent.flashcards import export_flashcards
    from cli.output import print_json

    result = export_flashcards(
        rt.settings, args.out, args.format, due_only=args.due, learner=args.learner
    )
    if args.json:
        print_json(result.to_json())
        return 0
    whose = f"due for {result.learner}" if result.learner is not None else "all questions"
    print(f"wrote {result.cards} cards ({whose}) to {result.path} as {result.format}")
    return 0


def cmd_import(args: argparse.Namespace, rt: Runtime) -> int:
    """Exit 0 when every row matches a shipped question; 2 when a row differs or is bad
    (nothing is applied either way)."""
    from agent.flashcard_import import import_flashcards_csv
    from cli.output import EXIT_USER_ERROR, print_json

    report = import_flashcards_csv(rt.settings, args.path)
    if args.json:
        print_json(report.to_json())
    else:
        print(f"{report.path}: {report.rows} rows, {len(report.unchanged)} unchanged")
        for d in report.changed:
            print(
                f"  line {d.line}: {d.question_id} differs in {', '.join(d.fields)} (not applied)"
            )
        for b in report.bad:
            print(f"  line {b.line}: bad row: {b.message}")
        for note in report.notes:
            print(f"  ({note})")
        print(report.message)
    return 0 if report.ok else EXIT_USER_ERROR
