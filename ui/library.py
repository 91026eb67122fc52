"""The Library tab: the roadmap and its questions by section, the study notes, the
papers it links to (fetched and indexed on request), the learner's own files, the index."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agent.runtime import Runtime
from core.errors import TutorError
from corpus.catalog import Paper
from ui import render
from ui.common import READY_WAIT_S, error_message
from ui.state import AppState


def fetch_paper_json(rt: Runtime, catalog: Sequence[Paper], paper_id: str) -> dict[str, Any]:
    """Fetch one catalog paper and index it, as `tutor papers fetch --id` does: nothing
    is downloaded when there is no index to add it to."""
    from corpus.papers import select_papers
    from index.library import fetch_and_index

    chosen = select_papers(catalog, ids=[paper_id.strip()])
    return fetch_and_index(rt.settings, rt.embedder, chosen).to_json()


def add_files_json(rt: Runtime, paths: Sequence[str]) -> dict[str, Any]:
    """Index uploaded files; they are copied under the data dir first (Gradio cleans its
    upload folder, and the index names a learner document by its path)."""
    from index.library import add_uploads

    return asdict(add_uploads(rt.settings, rt.embedder, paths))


def library_tab(gr: Any, app: AppState) -> None:
    """The Library tab: the roadmap by section, the study notes, the papers, your files."""
    from corpus.catalog import build_catalog
    from corpus.questions import load_question_bank, questions_under
    from corpus.text import heading_spans

    settings = app.settings
    try:
        roadmap = (settings.corpus.dir / "roadmap-en.md").read_text(encoding="utf-8")
        bank = load_question_bank(settings.corpus.dir)
        catalog = build_catalog(settings.corpus.dir)
    except (OSError, TutorError) as exc:
        # A corpus without the roadmap (a test corpus): the rest of the library still works.
        gr.Markdown(f"The roadmap browser is unavailable: {render.esc(str(exc))}")
        roadmap, bank, catalog = "", [], []
    spans = heading_spans(roadmap)
    sections = [" > ".join(path) for _, path in spans]
    notes = sorted((settings.corpus.dir / "notes").glob("*.md"))

    with gr.Tab("Roadmap"):
        section = gr.Dropdown(sections, value=sections[0] if sections else None, label="Section")
        section_view = gr.HTML(padding=True)

        def show_section(name: str) -> str:
            i = sections.index(name) if name in sections else 0
            start = spans[i][0]
            end = spans[i + 1][0] if i + 1 < len(spans) else len(roadmap)
            qs = questions_under(bank, spans[i][1])
            return render.text_document_html(name, roadmap[start:end]) + (
                "<h4>Self-check questions</h4>" + render.questions_html(qs) if qs else ""
            )

        section.change(show_section, section, section_view, api_visibility="private")
        gr.HTML(render.questions_html(bank), padding=True)
    with gr.Tab("Study notes"):
        note = gr.Dropdown([p.name for p in notes], label="Note")
        note_view = gr.HTML(padding=True)
        note.change(
            lambda n: (
                render.text_document_html(
                    n, (settings.corpus.dir / "notes" / Path(n).name).read_text(encoding="utf-8")
                )
                if n
                else ""
            ),
            note,
            note_view,
            api_visibility="private",
        )
    with gr.Tab("Papers"):
        rows = [
            [p.id, p.title, p.note or "", "; ".join(p.sections), ", ".join(p.self_check)]
            for p in catalog
        ]
        gr.Dataframe(
            rows,
            headers=["id", "title", "note", "sections", "self-check"],
            interactive=False,
            max_height=400,
        )
        with gr.Row():
            paper_id = gr.Textbox(label="Paper id (e.g. arxiv:1706.03762)", scale=3)
            fetch = gr.Button("Fetch and index (needs internet)", scale=1)
        fetch_out = gr.JSON(label="Result")

        def do_fetch(pid: str) -> Any:
            try:
                return fetch_paper_json(app.wait_ready(READY_WAIT_S), catalog, pid)
            except Exception as exc:
                return {"error": error_message(exc)}

        fetch.click(do_fetch, paper_id, fetch_out, api_visibility="private", concurrency_limit=1)
    with gr.Tab("Your files"):
        files = gr.File(
            file_count="multiple",
            label="Add notes or papers (.md .txt .pdf .html)",
            elem_id="upload",
        )
        ingest_btn = gr.Button("Add to the index", elem_id="ingest")
        ingest_out = gr.JSON(label="Ingest report", elem_id="ingest-report")

        def do_ingest(paths: list[str] | None) -> Any:
            if not paths:
                return {"error": "choose one or more files first"}
            try:
                return add_files_json(app.wait_ready(READY_WAIT_S), paths)
            except Exception as exc:
                return {"error": error_message(exc)}

        ingest_btn.click(do_ingest, files, ingest_out, api_name="ingest", concurrency_limit=1)
    with gr.Tab("Index"):
        idx = gr.JSON(label="Index status")
        gr.Button("Refresh").click(
            lambda: index_status_json(app), None, idx, api_visibility="private"
        )


def index_status_json(app: AppState) -> dict[str, Any]:
    from index.store import index_status

    status = index_status(app.settings)
    out = asdict(status)
    out["documents"] = [
        {
            "name": render.document_name(d.name),
            "language": d.language,
            "kind": d.kind,
            "chunks": d.chunks,
            "origin": d.origin,
        }
        for d in status.documents
    ]
    return out
