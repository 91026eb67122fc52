"""`tutor grade`, `tutor hint`, `tutor quiz`, `tutor progress`: self-check practice."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO, cast

from agent.runtime import Runtime
from core.errors import ConfigError
from core.settings import GRADER_MODES, GraderMode


def register(sub: Any, handlers: dict[str, Any]) -> None:
    from cli.output import Handler

    def add(name: str, handler: Handler, parser: argparse.ArgumentParser) -> None:
        parser.set_defaults(handler_key=name)
        handlers[name] = handler

    p = sub.add_parser("grade", help="grade your answer to a self-check question")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--question", help="the question text (a self-check question, or any with --reference)"
    )
    which.add_argument("--id", help="self-check question id, e.g. SQ03")
    which.add_argument("--next", action="store_true", help="the question due next for the profile")
    which.add_argument(
        "--batch",
        type=Path,
        metavar="FILE",
        help="grade a class: a .csv or .jsonl of answers (question_id or question, answer, "
        "optional learner and reference); writes a graded file and prints a summary",
    )
    p.add_argument("--answer", help="your answer; '-' reads it from stdin")
    p.add_argument(
        "--out", type=Path, help="with --batch: the graded file (default FILE.graded.EXT)"
    )
    p.add_argument(
        "--record",
        action="store_true",
        help="with --batch: record each row that names a learner in that learner's progress",
    )
    p.add_argument("--reference", help="grade against this reference answer (not recorded)")
    p.add_argument("--profile", help="learner profile (default: grading.profile)")
    p.add_argument("--reveal", action="store_true", help="show the model answer in the feedback")
    p.add_argument(
        "--explain",
        action="store_true",
        help="show why: each key point's support probability, the sentence that covered it "
        "and the passage that teaches it",
    )
    _grader_option(p)
    p.add_argument("--json", action="store_true")
    add("grade", cmd_grade, p)

    p = sub.add_parser("hint", help="a Socratic hint for a self-check question")
    p.add_argument("--id", required=True, help="self-check question id, e.g. SQ03")
    p.add_argument("--level", type=int, default=1, choices=[1, 2, 3])
    p.add_argument("--profile", help="hint at what this profile's last attempt missed")
    p.add_argument("--json", action="store_true")
    add("hint", cmd_hint, p)

    p = sub.add_parser("quiz", help="practise due questions in the terminal (h: hint, q: quit)")
    p.add_argument("--section", help="only questions whose section contains this")
    p.add_argument("--profile")
    _grader_option(p)
    add("quiz", cmd_quiz, p)

    p = sub.add_parser("progress", help="mastery per section and what is due")
    p.add_argument("--profile")
    p.add_argument("--json", action="store_true")
    p.add_argument("--export", type=Path, metavar="CSV", help="write the attempts to a CSV file")
    p.add_argument(
        "--check",
        action="store_true",
        help="check the learner database (SQLite integrity check) and list its backups",
    )
    add("progress", cmd_progress, p)

    p = sub.add_parser(
        "path", help="the roadmap's sections in order: prerequisites, mastery, what is unlocked"
    )
    p.add_argument("--profile")
    p.add_argument("--json", action="store_true")
    add("path", cmd_path, p)


# ------------------------------------------------------------------ helpers


def _grader_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--grader",
        choices=list(GRADER_MODES),
        default=None,
        help="points: the local model checks each key point (default, grading.grader; agrees "
        "best with teachers); deterministic: the support model alone, no model call, faster; "
        "combined/llm: the model's holistic verdict mixed in or alone",
    )


def _bank(rt: Runtime) -> list[Any]:
    from agent.question_bank import load_settings_bank

    return load_settings_bank(rt.settings)


def _store(rt: Runtime, bank: list[Any]) -> Any:
    from agent.practice import open_progress

    return open_progress(rt.settings, bank)


def _rubric(rt: Runtime, qid: str) -> Any:
    from agent.rubrics import load_rubric

    return load_rubric(rt.settings.grading.rubrics_dir, qid, rt.settings.corpus.dir)


def _read_answer(value: str, stdin: TextIO) -> str:
    return stdin.read() if value == "-" else value


def _profile_arg(args: argparse.Namespace, rt: Runtime) -> str:
    """--profile as given (an empty one is refused by the store, not turned into the
    default profile); the configured profile when the option is absent."""
    return args.profile if args.profile is not None else rt.settings.grading.profile


def _check_grade_inputs(args: argparse.Namespace, answer: str, rt: Runtime) -> None:
    from agent.limits import check_answer, check_question_id
    from core.limits import check_text

    lim = rt.settings.limits
    if args.id is not None:
        args.id = check_question_id(args.id, "--id")  # "sq03" names the rubric SQ03
    if args.question is not None:
        check_text(args.question, "--question", lim.max_question_chars, "limits.max_question_chars")
    check_answer(answer, rt.settings)
    if args.reference is not None:
        check_answer(args.reference, rt.settings, "the reference answer")


def _mode(rt: Runtime, grader: str | None) -> GraderMode:
    """The grader asked for on the command line, else the configured one."""
    return cast(GraderMode, grader or rt.settings.grading.grader)


def _chat(rt: Runtime, grader: str | None) -> Any:
    return rt.grading_model(_mode(rt, grader))


def _print_report(
    report: Any, out: TextIO | None = None, match: Any = None, explain: bool = False
) -> None:
    out = out or sys.stdout  # looked up per call: tests swap sys.stdout
    if match is not None:
        how = {"id": "its id", "text": "its exact text"}.get(match.method, "a rewording")
        out.write(f"question {match.question_id}: {match.question}\n")
        out.write(f"  (matched as {how}, similarity {match.similarity:.2f})\n")
    label = report.verdict.replace("_", " ")
    out.write(f"{label}: {report.score}/5\n")
    if report.feedback:
        out.write(report.feedback + "\n")
    for p in report.covered:
        where = f" [{p.citation.source} {p.citation.start}-{p.citation.end}]" if p.citation else ""
        out.write(f"  + {p.label}{where}\n")
    for p in report.missing:
        where = f" [{p.citation.source} > {p.citation.section}]" if p.citation else ""
        out.write(f"  - {p.label or 'a key point'}{where}\n")
    if report.method.get("llm", "").startswith("unparseable"):
        out.write("  (the model's verdict was unusable: deterministic score only)\n")
    if explain:
        _print_explanation(report, out)


def _print_explanation(report: Any, out: TextIO) -> None:
    """Each key point with its support, the learner's sentence and the passage. A missing
    point's passage is only located (file > section) unless the report reveals answers."""
    m = report.method
    points_mode = m.get("mode") == "points"
    judge = (
        f"the model's key-point check {m.get('point_check_version', '?')}"
        if points_mode
        else f"support model {m.get('support_model', '?')}"
    )
    measure = "P(yes)" if points_mode else "support"
    out.write(f"why ({judge}, a point counts from {m.get('covered_at', '?')}):\n")
    for covered, points in ((True, report.covered), (False, report.missing)):
        for p in points:
            mark = "covered" if covered else "missing"
            out.write(f"  [{mark}] {p.id} {p.label or ''} {measure} {p.support:.3f}\n")
            if p.evidence:
                out.write(f"      your sentence: {p.evidence}\n")
            if p.citation is not None:
                where = f"{p.citation.source} > {p.citation.section}"
                text = f': "{p.citation.excerpt}"' if p.citation.excerpt else ""
                out.write(f"      passage: {where}{text}\n")


def _report_json(report: Any, recorded: int | None, match: Any = None) -> dict[str, Any]:
    data = report.to_json()
    data["attempt_id"] = recorded
    # Which bank question was graded and how closely the asked text matched it; None
    # when graded against a --reference.
    data["matched_question"] = None if match is None else asdict(match)
    return data


# ------------------------------------------------------------------ commands


def cmd_grade(args: argparse.Namespace, rt: Runtime) -> int:
    from agent.grading import grade_answer
    from agent.practice import grade_practice
    from cli.output import print_json

    if getattr(args, "batch", None) is not None:
        return _cmd_batch(args, rt)
    if args.answer is None:
        raise ConfigError("--answer is required (or grade a file with --batch)")
    answer = _read_answer(args.answer, sys.stdin)
    profile = _profile_arg(args, rt)
    _check_grade_inputs(args, answer, rt)
    try:
        if args.reference is not None:
            if not args.question and not args.id:
                raise ConfigError("--reference needs --question (or --id) to know what was asked")
            question = args.question or _rubric(rt, args.id).question
            report = grade_answer(
                question,
                answer,
                args.reference,
                embedder=rt.embedder,
                chat_model=_chat(rt, args.grader),
                settings=rt.settings,
                reveal=args.reveal,
                mode=_mode(rt, args.grader),
            )
            recorded = None
            match = None
        else:
            graded = grade_practice(
                rt.settings,
                rt.embedder,
                profile,
                answer,
                question=args.question or None,
                question_id=args.id,
                due=bool(args.next),
                chat_model=_chat(rt, args.grader),
                mode=_mode(rt, args.grader),
                reveal=args.reveal,
            )
            report, recorded, match = graded.report, graded.attempt_id, graded.match
    finally:
        rt.close()
    if args.json:
        print_json(_report_json(report, recorded, match))
    else:
        _print_report(report, match=match, explain=getattr(args, "explain", False))
    return 0


def _print_batch_summary(data: dict[str, Any]) -> None:
    print(
        f"graded {data['graded']} of {data['rows']} rows in {data['seconds']:.1f} s "
        f"({data['answers_per_second']:.1f} answers/s), skipped {data['skipped']}, "
        f"recorded {data['recorded']}"
    )
    print(f"wrote {data['output']}")
    for e in data["errors"]:
        where = f" ({e['field']})" if e["field"] else ""
        print(f"  skipped line {e['line']}{where}: {e['message']}")
    if data["verdicts"]:
        print("verdicts per question:")
        for qid, counts in data["verdicts"].items():
            listed = ", ".join(f"{v.replace('_', ' ')} {n}" for v, n in counts.items())
            print(f"  {qid}: {listed}")
    if data["missing_points"]:
        print("most often missing:")
        for m in data["missing_points"]:
            print(f"  {m['count']} x {m['question_id']} {m['label'] or m['key_point']}")
    if data["misconceptions"]:
        print("most common misconceptions:")
        for m in data["misconceptions"]:
            print(f"  {m['count']} x {m['question_id']} {m['claim']}")


def _cmd_batch(args: argparse.Namespace, rt: Runtime) -> int:
    from agent.batch_grading import grade_batch_file
    from cli.output import StderrProgress, print_json

    if args.answer is not None or args.reference is not None:
        raise ConfigError("--batch reads answers and references from the file: drop --answer")
    try:
        result = grade_batch_file(
            args.batch,
            embedder=rt.embedder,
            settings=rt.settings,
            out=args.out,
            record=args.record,
            chat_model=_chat(rt, args.grader),
            mode=_mode(rt, args.grader),
            on_progress=StderrProgress(not args.json),
        )
    finally:
        rt.close()
    data = result.summary_json()
    if args.json:
        print_json(data)
    else:
        _print_batch_summary(data)
    return 0


def cmd_hint(args: argparse.Namespace, rt: Runtime) -> int:
    from agent.limits import check_question_id
    from agent.practice import practice_hint
    from cli.output import print_json

    qid = check_question_id(args.id, "--id")
    # With --profile, the hint is about what that profile's last attempt missed.
    h = practice_hint(rt.settings, qid, args.level, args.profile)
    if args.json:
        print_json(asdict(h))
    else:
        print(f"hint {h.level}: {h.text}")
    return 0


def run_quiz(
    rt: Runtime,
    profile: str,
    section: str | None,
    grader: str | None,
    stdin: TextIO,
    out: TextIO,
) -> int:
    """The quiz loop over `stdin`/`out` (so tests can feed it): returns questions graded."""
    from agent.practice import grade_and_record, next_question, practice_hint, rubric_for

    bank = _bank(rt)
    graded = 0
    with _store(rt, bank) as store:
        out.write("Answer in one line. h: hint (again for a stronger one), q: quit.\n")
        while True:
            q = next_question(rt.settings, store, bank, profile, section)
            if q is None:
                out.write("Nothing is due now. Well done.\n")
                break
            rubric = rubric_for(rt.settings, store, profile, q)
            out.write(f"\n[{q.id}] {q.text_en}\n")
            level = 0
            while True:
                out.write("> ")
                out.flush()
                line = stdin.readline()
                if not line:  # end of input
                    out.write("\n")
                    return graded
                answer = line.strip()
                if answer.lower() == "q":
                    return graded
                if answer.lower() == "h":
                    level = min(3, level + 1)
                    # As `tutor hint --profile`: about what the last attempt missed.
                    h = practice_hint(rt.settings, q.id, level, profile)
                    out.write(f"hint {level}: {h.text}\n")
                    continue
                if not answer:
                    continue
                report, _ = grade_and_record(
                    store,
                    profile,
                    q,
                    answer,
                    rubric,
                    embedder=rt.embedder,
                    chat_model=_chat(rt, grader),
                    settings=rt.settings,
                    mode=_mode(rt, grader),
                )
                graded += 1
                _print_report(report, out)
                break
    return graded


def cmd_quiz(args: argparse.Namespace, rt: Runtime) -> int:
    profile = _profile_arg(args, rt)
    try:
        run_quiz(rt, profile, args.section, args.grader, sys.stdin, sys.stdout)
    finally:
        rt.close()
    return 0


def cmd_progress(args: argparse.Namespace, rt: Runtime) -> int:
    from cli.output import print_json

    profile = _profile_arg(args, rt)
    bank = _bank(rt)
    if args.check:
        return _check_progress(args, rt, bank)
    from agent.practice import due_now

    with _store(rt, bank) as store:
        mastery = store.mastery_by_section(profile)
        due = due_now(rt.settings, store, bank, profile)
        attempts = len(store.history(profile))
        exported = store.export_csv(profile, args.export) if args.export else None
    if args.json:
        print_json(
            {
                "profile": profile,
                "attempts": attempts,
                "sections": [asdict(m) for m in mastery],
                "due": [asdict(d) for d in due],
                "exported": exported,
            }
        )
        return 0
    print(f"profile {profile}: {attempts} attempts")
    for m in mastery:
        mean = "-" if m.mean_last_score is None else f"{m.mean_last_score:.1f}"
        print(
            f"  {m.section}: {m.mastered}/{m.questions} mastered, {m.attempted} attempted, "
            f"mean last score {mean}, {m.due} due"
        )
    if due:
        print("due now: " + ", ".join(d.question_id for d in due))
    if exported is not None:
        print(f"wrote {exported} attempts to {args.export}")
    return 0


def cmd_path(args: argparse.Namespace, rt: Runtime) -> int:
    from agent.practice import path_for
    from cli.output import print_json

    profile = _profile_arg(args, rt)
    steps = path_for(rt.settings, profile)
    if args.json:
        print_json(
            {
                "profile": profile,
                "unlock_mastery": rt.settings.grading.unlock_mastery,
                "sections": [{**asdict(s), "mastery": round(s.mastery, 3)} for s in steps],
            }
        )
        return 0
    if not steps:
        print("no learning path: the configured corpus or rubrics folder has none")
        return 0
    print(f"profile {profile}: the roadmap in order")
    for s in steps:
        mark = "open  " if s.unlocked else "locked"
        count = f"{s.mastered}/{s.questions} mastered" if s.questions else "no questions"
        wait = f" (first: {'; '.join(s.waiting_for)})" if s.waiting_for else ""
        print(f"  [{mark}] {s.section}: {count}{wait}")
    return 0


def _check_progress(args: argparse.Namespace, rt: Runtime, bank: list[Any]) -> int:
    from cli.output import EXIT_USER_ERROR, one_line, print_json

    with _store(rt, bank) as store:
        check = store.check()
    if not check.ok:
        # Damage the full check found: the report says what, and what was restored.
        if args.json:
            print_json(asdict(check))
        print(f"error: {one_line(check.recovery or '; '.join(check.problems))}", file=sys.stderr)
        return EXIT_USER_ERROR
    if args.json:
        print_json(asdict(check))
        return 0
    print(
        f"{check.path}: ok ({check.profiles} profiles, {check.attempts} attempts); "
        f"{len(check.backups)} backups" + (f", newest {check.backups[-1]}" if check.backups else "")
    )
    return 0
