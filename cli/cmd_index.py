"""`tutor index build|status`, `tutor search`, `tutor ingest`."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from typing import Any

from agent.runtime import Runtime
from corpus.text import section_label


def register(sub: Any, handlers: dict[str, Any]) -> None:
    from cli.output import Handler

    def add(name: str, handler: Handler, parser: argparse.ArgumentParser) -> None:
        parser.set_defaults(handler_key=name)
        handlers[name] = handler

    p_index = sub.add_parser("index", help="build or inspect the index")
    isub = p_index.add_subparsers(dest="index_command", metavar="ACTION", required=True)
    p = isub.add_parser("build", help="build the index from corpus/ (learner files are kept)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument(
        "--if-needed",
        action="store_true",
        help="only build when the index is missing, stale or built with other settings",
    )
    add("index build", cmd_build, p)
    p = isub.add_parser("status", help="what is indexed")
    p.add_argument("--json", action="store_true")
    add("index status", cmd_status, p)

    p = sub.add_parser("search", help="ranked passages for a query")
    p.add_argument("query")
    p.add_argument("--k", type=int, default=None, help="number of passages (default 5)")
    p.add_argument("--lang", action="append", default=[], help="language filter, e.g. es, zh")
    p.add_argument("--doc", action="append", default=[], help="document (file name) filter")
    p.add_argument("--section", help="section path substring filter")
    p.add_argument("--mode", choices=["hybrid", "dense", "bm25"], default=None)
    p.add_argument("--json", action="store_true")
    add("search", cmd_search, p)

    p = sub.add_parser("ingest", help="add your own .md/.txt/.html/.pdf files or folders")
    # Strings, not Paths: Path("") is ".", and `tutor ingest ""` must not ingest the cwd.
    p.add_argument("paths", nargs="+")
    p.add_argument("--remove", action="store_true", help="take these documents out instead")
    p.add_argument("--json", action="store_true")
    add("ingest", cmd_ingest, p)


def _progress(args: argparse.Namespace) -> Any:
    from cli.output import StderrProgress

    return StderrProgress(enabled=True)


def cmd_build(args: argparse.Namespace, rt: Runtime) -> int:
    from cli.output import print_json
    from index.build_glosses import gloss_problem, glosses_path
    from index.store import build_index, ensure_index, read_meta

    t0 = time.monotonic()
    if args.if_needed:
        built = ensure_index(rt.settings, rt.embedder, _progress(args))
        meta = built or read_meta(rt.settings)
    else:
        built = meta = build_index(rt.settings, rt.embedder, _progress(args))
    elapsed = time.monotonic() - t0
    if built is None and not args.json:
        print(f"index is up to date ({meta.n_chunks} chunks in {rt.settings.index_dir})")
        return 0
    summary = {
        "built": built is not None,
        "build_id": meta.build_id,
        "documents": len(meta.documents),
        "chunks": meta.n_chunks,
        "embedder": meta.embedder_id,
        "seconds": round(elapsed, 2),
        "index_dir": str(rt.settings.index_dir),
        "glosses": meta.glosses,
    }
    if args.json:
        print_json(summary)
    else:
        print(
            f"indexed {summary['documents']} documents, {summary['chunks']} chunks "
            f"({meta.glosses.get('attached', 0)} with English glosses) "
            f"with {meta.embedder_id} in {elapsed:.1f}s -> {rt.settings.index_dir}"
        )
        unused = gloss_problem(meta.glosses, glosses_path(rt.settings))
        if unused:
            print(f"warning: {unused}", file=sys.stderr)
    return 0


def _human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{n} B"


def cmd_status(args: argparse.Namespace, rt: Runtime) -> int:
    from cli.output import print_json
    from index.store import index_status

    status = index_status(rt.settings, rt.embedder)
    if args.json:
        print_json(asdict(status))
        return 0 if status.exists else 1
    if not status.exists:
        print(f"no index in {status.index_dir}: run `tutor index build`")
        return 1
    print(f"index:     {status.index_dir} (build {status.build_id}, {status.built_at})")
    print(f"embedder:  {status.embedder}")
    print(f"chunking:  {status.chunking}")
    print(f"size:      {_human_size(status.size_bytes)} on disk")
    print(f"documents: {status.n_documents}, chunks: {status.n_chunks}")
    g = status.glosses
    print(
        f"glosses:   {g.get('attached', 0)} attached of {g.get('rows', 0)} rows "
        f"({g.get('stale', 0)} stale, {g.get('orphaned', 0)} orphaned)"
    )
    for d in status.documents:
        print(f"  {d.chunks:5d}  {d.language:7s} {d.kind:12s} {d.name}")
    if status.problem:
        print(f"warning: {status.problem}")
    return 0


def cmd_search(args: argparse.Namespace, rt: Runtime) -> int:
    from cli.output import print_json
    from index.retriever import SearchFilters

    # The query, --k and the filters are checked by the retriever (the web app's /search
    # shares the checks).
    filters = SearchFilters(
        languages=tuple(args.lang), sources=tuple(args.doc), section=args.section
    )
    hits = rt.retriever.search(args.query, k=args.k, filters=filters, mode=args.mode)
    if args.json:
        from corpus.documents import original_text

        corpus_dir = rt.settings.corpus.dir
        print_json([h.to_json(original_text(corpus_dir, h.chunk.source)) for h in hits])
        return 0
    if not hits:
        print("no passage matches", file=sys.stderr)
        return 0
    for h in hits:
        c = h.chunk
        section = section_label(c.section) or "-"
        print(f"[{h.rank}] {c.source} [{c.language}] {section}  (score {h.score:.4f})")
        excerpt = " ".join(c.text.split())
        print(f"    {excerpt[:300]}{'...' if len(excerpt) > 300 else ''}")
        for v in h.versions:
            print(f"    also in {v.language}: {v.source} {v.start}-{v.end}")
    return 0


def cmd_ingest(args: argparse.Namespace, rt: Runtime) -> int:
    from cli.output import EXIT_USER_ERROR, print_json
    from core.errors import InputError
    from index.ingest import ingest_paths, remove_documents

    if args.remove:
        report = remove_documents(rt.settings, rt.embedder, args.paths)
    else:
        report = ingest_paths(rt.settings, rt.embedder, args.paths, _progress(args))
    changed = report.added or report.replaced or report.unchanged or report.removed
    if report.errors and not changed:
        # Nothing was taken in: one error, like any other input problem.
        first = report.errors[0]
        more = f" (and {len(report.errors) - 1} more)" if len(report.errors) > 1 else ""
        raise InputError(f"nothing ingested: {first['path']}: {first['reason']}{more}")
    if args.json:
        data = asdict(report)
        if report.errors:
            data["error"] = f"{len(report.errors)} of the paths failed"
        print_json(data)
    else:
        for err in report.errors:
            print(f"error: {err['path']}: {err['reason']}", file=sys.stderr)
        parts = [
            f"{len(report.added)} added",
            f"{len(report.replaced)} replaced",
            f"{len(report.unchanged)} unchanged",
        ]
        if args.remove:
            parts = [f"{len(report.removed)} removed"]
        parts.append(f"{len(report.errors)} failed")
        print(
            ", ".join(parts) + (f"; {report.chunks_added} chunks added" if not args.remove else "")
        )
    return EXIT_USER_ERROR if report.errors else 0
