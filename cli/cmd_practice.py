"""`tutor practice generate|list|edit|delete`: practice questions from the learner's own
files, kept in their profile and graded like any question of the bank."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agent.runtime import Runtime


def register(sub: Any, handlers: dict[str, Any]) -> None:
    p = sub.add_parser("practice", help="practice questions from your own ingested files")
    actions = p.add_subparsers(dest="practice_action", metavar="ACTION", required=True)

    g = actions.add_parser(
        "generate",
        help="ask the local model for questions over one of your files; keeps only those "
        "whose every key point is quoted from and supported by the file",
    )
    g.add_argument("path", nargs="?", metavar="PATH", help="a file to ingest and ask about")
    g.add_argument("--doc", help="an ingested file, by its name or full path")
    g.add_argument("--n", type=int, default=3, help="questions wanted, 1-5 (default 3)")
    g.add_argument("--profile", help="whose bank (default: grading.profile)")
    g.add_argument("--json", action="store_true")
    g.set_defaults(handler_key="practice generate")
    handlers["practice generate"] = cmd_generate

    ls = actions.add_parser("list", help="your own questions")
    ls.add_argument("--profile")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler_key="practice list")
    handlers["practice list"] = cmd_list

    e = actions.add_parser("edit", help="reword one of your questions or its key points")
    e.add_argument("id", metavar="ID", help="a question id from `tutor practice list` (GQ-...)")
    e.add_argument("--question", help="the new question text")
    e.add_argument(
        "--point",
        action="append",
        help="the new key points, in order, as many as the question has (repeat --point)",
    )
    e.add_argument("--profile")
    e.add_argument("--json", action="store_true")
    e.set_defaults(handler_key="practice edit")
    handlers["practice edit"] = cmd_edit

    d = actions.add_parser("delete", help="delete one of your questions")
    d.add_argument("id", metavar="ID")
    d.add_argument("--profile")
    d.add_argument("--json", action="store_true")
    d.set_defaults(handler_key="practice delete")
    handlers["practice delete"] = cmd_delete


def _profile(args: argparse.Namespace, rt: Runtime) -> str:
    return args.profile if args.profile is not None else rt.settings.grading.profile


def _print_question(q: Any) -> None:
    print(f"[{q.id}] {q.question}  ({q.doc})")
    for i, p in enumerate(q.points, 1):
        print(f"    {i}. {p.text}  (quote: \"{p.quote}\", support {p.support:.2f})")


def cmd_generate(args: argparse.Namespace, rt: Runtime) -> int:
    from agent.my_questions import generate_practice
    from cli.output import print_json

    def progress(done: int, total: int) -> None:
        if not args.json:
            print(f"asking the model: passage {done} of at most {total}", file=sys.stderr)

    try:
        result = generate_practice(
            rt, _profile(args, rt), doc=args.doc, path=args.path, n=args.n, on_progress=progress
        )
    finally:
        rt.close()
    if args.json:
        print_json(result.to_json())
        return 0
    r = result.report
    print(
        f"{r.doc}: kept {len(r.kept)} of {r.calls} drafts in {r.seconds:.0f} s "
        f"({len(result.added)} new in profile {result.profile!r})"
    )
    for q in r.kept:
        _print_question(q)
    for x in r.rejected:
        print(f"  dropped ({x.chunk_id}): {x.reason}")
    return 0


def cmd_list(args: argparse.Namespace, rt: Runtime) -> int:
    from agent.my_questions import own_questions, question_json
    from cli.output import print_json

    profile = _profile(args, rt)
    rows = own_questions(rt.settings, profile)
    if args.json:
        print_json(
            {
                "profile": profile,
                "questions": [
                    {**question_json(r.question), "created_at": r.created_at, "edited_at": r.edited_at}
                    for r in rows
                ],
            }
        )
        return 0
    if not rows:
        print(f"profile {profile!r} has no questions of its own: `tutor practice generate FILE`")
    for r in rows:
        _print_question(r.question)
    return 0


def cmd_edit(args: argparse.Namespace, rt: Runtime) -> int:
    from agent.my_questions import edit_own_question, question_json
    from cli.output import print_json
    from core.errors import InputError

    if args.question is None and args.point is None:
        raise InputError("nothing to change: give --question and/or --point")
    profile = _profile(args, rt)
    row = edit_own_question(rt.settings, profile, args.id, args.question, args.point)
    if args.json:
        print_json({"profile": profile, **question_json(row.question), "edited_at": row.edited_at})
    else:
        _print_question(row.question)
    return 0


def cmd_delete(args: argparse.Namespace, rt: Runtime) -> int:
    from agent.my_questions import delete_own_question
    from cli.output import print_json

    profile = _profile(args, rt)
    deleted = delete_own_question(rt.settings, profile, args.id)
    if args.json:
        print_json({"profile": profile, "deleted": deleted})
    else:
        print(f"deleted {deleted} from profile {profile!r}")
    return 0
