"""`tutor papers list|fetch`: the paper library the roadmap links to."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agent.runtime import Runtime


def register(sub: Any, handlers: dict[str, Any]) -> None:
    from cli.output import Handler

    def add(name: str, handler: Handler, parser: argparse.ArgumentParser) -> None:
        parser.set_defaults(handler_key=name)
        handlers[name] = handler

    p_papers = sub.add_parser("papers", help="list or download the papers the roadmap links to")
    psub = p_papers.add_subparsers(dest="papers_command", metavar="ACTION", required=True)

    p = psub.add_parser("list", help="the linked papers, tutorials and repositories")
    p.add_argument("--section", help="only those under a section (case-insensitive substring)")
    p.add_argument("--json", action="store_true", help="print a JSON array")
    add("papers list", cmd_list, p)

    p = psub.add_parser(
        "fetch",
        help="download papers (needs a connection), extract their text and index it",
        description=(
            "Download arXiv PDFs (through arXiv's export host, pausing between requests) and "
            "HTML pages, check them, keep them in the data dir and index their text. A rerun "
            "only downloads what is missing. Give exactly one of --section, --id, --all."
        ),
    )
    p.add_argument("--section", help="papers under a section (case-insensitive substring)")
    p.add_argument(
        "--id",
        dest="ids",
        action="append",
        default=[],
        metavar="ARXIV_ID",
        help="an arXiv id (1706.03762) or a catalog id; may be repeated",
    )
    p.add_argument("--all", dest="all_papers", action="store_true", help="every linked work")
    p.add_argument("--json", action="store_true", help="print results and the ingest report")
    add("papers fetch", cmd_fetch, p)


def _human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def cmd_list(args: argparse.Namespace, rt: Runtime) -> int:
    from cli.output import print_json
    from corpus.catalog import build_catalog
    from corpus.paper_manifest import fetched_ids
    from corpus.papers import filter_by_section

    papers = filter_by_section(build_catalog(rt.settings.corpus.dir), args.section)
    have = fetched_ids(rt.settings)
    if args.json:
        print_json(
            [
                {
                    "id": p.id,
                    "title": p.title,
                    "url": p.url,
                    "arxiv_id": p.arxiv_id,
                    "sections": list(p.sections),
                    "self_check": list(p.self_check),
                    "fetched": p.id in have,
                }
                for p in papers
            ]
        )
        return 0
    if not papers:
        print(f"no paper is listed under a section matching {args.section!r}", file=sys.stderr)
        return 0
    for p in papers:
        mark = "*" if p.id in have else " "
        questions = f"  [{','.join(p.self_check)}]" if p.self_check else ""
        print(f"{mark} {p.id:22s} {p.title}{questions}")
    n_have = sum(1 for p in papers if p.id in have)
    print(f"{len(papers)} listed, {n_have} in the library (*)")
    return 0


def cmd_fetch(args: argparse.Namespace, rt: Runtime) -> int:
    from cli.output import StderrProgress, print_json
    from corpus.catalog import build_catalog
    from corpus.papers import select_papers
    from index.library import fetch_and_index

    settings = rt.settings
    papers = select_papers(
        build_catalog(settings.corpus.dir),
        section=args.section,
        ids=args.ids,
        all_papers=args.all_papers,
    )
    done = fetch_and_index(settings, rt.embedder, papers, StderrProgress(enabled=not args.json))
    results, report = done.papers, done.ingest
    n_failed = sum(1 for r in results if r.status == "failed")
    if args.json:
        print_json(done.to_json())
    else:
        for r in results:
            if r.status in ("fetched", "cached"):
                pages = f", {r.pages} pages" if r.pages else ""
                print(f"{r.status:8s} {r.paper_id}  {r.title} ({_human_size(r.bytes)}{pages})")
            else:
                print(f"{r.status:8s} {r.paper_id}  {r.title}: {r.reason}")
        if report:
            for err in report.errors:
                print(f"error: {err['path']}: {err['reason']}", file=sys.stderr)
        counts = {s: sum(1 for r in results if r.status == s) for s in ("fetched", "cached")}
        n_skipped = sum(1 for r in results if r.status == "skipped")
        summary = (
            f"{counts['fetched']} fetched, {counts['cached']} cached, {n_failed} failed, "
            f"{n_skipped} skipped"
        )
        if report:
            summary += (
                f"; indexed: {len(report.added)} added, {len(report.replaced)} replaced, "
                f"{len(report.unchanged)} unchanged, {len(report.errors)} failed"
            )
        print(summary)
    return 1 if done.failed else 0
