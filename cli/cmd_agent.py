"""`tutor ask`, `tutor chat`, `tutor questions`, `tutor llm serve|status`."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from typing import Any

from agent.runtime import Runtime
from corpus.text import section_label


def register(sub: Any, handlers: dict[str, Any]) -> None:
    def add(name: str, handler: Any, parser: argparse.ArgumentParser) -> None:
        parser.set_defaults(handler_key=name)
        handlers[name] = handler

    def add_answer_language(p: argparse.ArgumentParser) -> None:
        from agent.prompts import ANSWER_LANGUAGES

        p.add_argument(
            "--answer-language",
            choices=ANSWER_LANGUAGES,
            help="answer in this language (default: the question's language)",
        )

    def llm_overrides(a: argparse.Namespace) -> dict[str, Any]:
        return {"llm.base_url": getattr(a, "llm_url", None), "llm.model": getattr(a, "model", None)}

    p = sub.add_parser("ask", help="ask the tutor one question")
    p.add_argument("question")
    p.add_argument("--lang", action="append", default=[], help="only use sources in this language")
    add_answer_language(p)
    p.add_argument("--llm-url", help="OpenAI-compatible endpoint (default: the bundled model)")
    p.add_argument("--json", action="store_true", help="print the answer record as JSON")
    p.set_defaults(settings_overrides=llm_overrides)
    add("ask", cmd_ask, p)

    p = sub.add_parser("chat", help="talk with the tutor in the terminal")
    add_answer_language(p)
    p.add_argument("--llm-url", help="OpenAI-compatible endpoint (default: the bundled model)")
    p.set_defaults(settings_overrides=llm_overrides)
    add("chat", cmd_chat, p)

    p = sub.add_parser("questions", help="the question bank: self-check and practice questions")
    p.add_argument("--section", help="section name substring, e.g. Transformer")
    p.add_argument("--json", action="store_true")
    add("questions", cmd_questions, p)

    p_llm = sub.add_parser("llm", help="the language model server")
    lsub = p_llm.add_subparsers(dest="llm_command", metavar="ACTION", required=True)
    p = lsub.add_parser("serve", help="run the model server in the foreground")
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--engine", choices=["llamacpp", "vllm"], default="llamacpp")
    p.add_argument("--model", help="model name for --engine vllm (a Hugging Face id or path)")
    add("llm serve", cmd_llm_serve, p)
    p = lsub.add_parser("status", help="what the tutor talks to, and whether it answers")
    p.add_argument("--llm-url", help="endpoint to check instead of the configured one")
    p.add_argument("--json", action="store_true")
    p.set_defaults(settings_overrides=llm_overrides)
    add("llm status", cmd_llm_status, p)


def _print_answer_tail(answer: Any) -> None:
    if answer.abstained:
        print(answer.answer)
    if not answer.abstained and any(s.second_opinion is not None for s in answer.sentences):
        # The streamed sentences carried the citation check's verdicts; the model's second
        # opinion revised some of them before the answer was given.
        print("\nChecked again against the sources by the model, the answer reads:")
        print(answer.answer)
    unsupported = [s for s in answer.sentences if not s.supported]
    if unsupported and not answer.abstained:
        print("\nNot supported by the sources:")
        for s in unsupported:
            print(f"  - {s.text}")
    if answer.citations and not answer.abstained:
        print("\nSources:")
        for c in answer.citations:
            section = section_label(c.section) or "-"
            excerpt = " ".join(c.text.split())[:160]
            print(f"  [{c.n}] {c.source} ({c.language}) {section} [{c.start}:{c.end}]")
            print(f"      {excerpt}...")
    if answer.readings and not answer.abstained:
        print("\nReadings the roadmap lists:")
        for r in answer.readings:
            print(f"  - {r.title}: {r.url}")
    t = answer.timings
    first = f"{t.first_token_s:.1f}s" if t.first_token_s is not None else "-"
    print(f"\n(first token {first}, total {t.total_s:.1f}s)", file=sys.stderr)


def _stream_sentence(sentence: Any) -> None:
    from agent.citations import render_sentence

    sys.stdout.write(render_sentence(sentence.text, sentence.citations, sentence.supported) + " ")
    sys.stdout.flush()


def cmd_ask(args: argparse.Namespace, rt: Runtime) -> int:
    from agent.limits import check_question
    from cli.output import print_json
    from index.retriever import SearchFilters

    # Tutor.ask makes this check too (the web app shares it); made here as well because
    # building the tutor starts the model server, and a bad question should not wait for it.
    check_question(args.question, (), rt.settings)
    filters = SearchFilters(languages=tuple(args.lang)) if args.lang else None
    try:
        tutor = rt.tutor
        if args.json:
            answer = tutor.ask(args.question, filters=filters, answer_language=args.answer_language)
            print_json(answer.to_json())
        else:
            answer = tutor.ask(
                args.question,
                filters=filters,
                on_sentence=_stream_sentence,
                answer_language=args.answer_language,
            )
            print()
            _print_answer_tail(answer)
    finally:
        rt.close()
    return 0


def cmd_chat(args: argparse.Namespace, rt: Runtime) -> int:
    from core.errors import TutorError

    print("Roadmap Tutor. Ask about the Generative AI Roadmap; /new starts over, /quit exits.")
    history: list[tuple[str, str]] = []
    try:
        tutor = rt.tutor
        while True:
            try:
                question = input("\nyou> ").strip()
            except EOFError:
                break
            if not question:
                continue
            if question in ("/quit", "/exit"):
                break
            if question == "/new":
                history.clear()
                print("(new conversation)")
                continue
            sys.stdout.write("tutor> ")
            try:
                answer = tutor.ask(
                    question,
                    history=history,
                    on_sentence=_stream_sentence,
                    answer_language=args.answer_language,
                )
            except TutorError as exc:
                print(f"\nerror: {exc}")
                continue
            print()
            _print_answer_tail(answer)
            history.append((question, answer.answer))
            history = history[-rt.settings.agent.history_turns :]
    finally:
        rt.close()
    return 0


def cmd_questions(args: argparse.Namespace, rt: Runtime) -> int:
    from agent.question_bank import load_settings_bank
    from cli.output import print_json

    bank = load_settings_bank(rt.settings)
    if args.section:
        bank = [q for q in bank if args.section.lower() in section_label(q.section).lower()]
    if args.json:
        print_json([asdict(q) for q in bank])
        return 0
    current = None
    for q in bank:
        section = section_label(q.section)
        if section != current:
            print(f"\n{section}")
            current = section
        level = f"  [{q.difficulty}]" if q.difficulty else ""
        print(f"  {q.id}  {q.text_en}{level}")
    return 0


def cmd_llm_serve(args: argparse.Namespace, rt: Runtime) -> int:
    from core.errors import ConfigError

    if args.engine == "vllm":
        import os

        from agent.llm.vllm import VLLM_INSTALL_HINT, vllm_available, vllm_command

        if not args.model:
            raise ConfigError("--engine vllm needs --model NAME (a Hugging Face id or a path)")
        if not vllm_available():
            raise ConfigError(VLLM_INSTALL_HINT)
        cmd = vllm_command(args.model, args.port or 8000, "127.0.0.1", [])
        print("running: " + " ".join(cmd), file=sys.stderr)
        os.execvp(cmd[0], cmd)
    from agent.llm.serve import serve_forever

    def ready(info: Any) -> None:
        print(f"serving {info.url} (Ctrl-C stops it); tutor commands will use it", flush=True)

    serve_forever(rt.settings.llm, rt.settings.index.data_dir, args.port, on_ready=ready)
    return 0


def cmd_llm_status(args: argparse.Namespace, rt: Runtime) -> int:
    from agent.llm.client import describe_target
    from cli.output import print_json

    status = describe_target(rt.settings.llm, rt.settings.index.data_dir)
    if args.json:
        print_json(status)
    else:
        for key, value in status.items():
            print(f"{key:12s} {value}")
    return 1 if status.get("reachable") is False else 0
