"""The HTML report is rendered from plain run data by autoescaping templates; every text
is escaped, and the templates ship with the package."""

from __future__ import annotations

import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import escape

from evals import report
from evals.records import EvalRun
from evals.report import bar_svg, history_svg, render_report

pytestmark = pytest.mark.unit


def _record(**over):
    rec = {
        "id": "q1",
        "question": "What is <b>GQA</b>?",
        "tags": ["test"],
        "answerable": True,
        "history": [],
        "answer": "The roadmap does not cover this.",
        "abstained": True,
        "abstain_reason": "the draft answer is mostly unsupported",
        "draft": "GQA <script>x()</script> groups heads.",
        "claims": [],
        "citations": [],
        "retrieved": [],
        "metrics": {
            "faithfulness": None,
            "citation_precision": None,
            "citation_recall": None,
            "context_recall": 1.0,
            "answer_f1": None,
            "total_s": 3.0,
        },
    }
    rec.update(over)
    return rec


def test_an_abstained_item_shows_its_declined_draft_escaped():
    run = EvalRun(Path("run"), {"eval_set_version": "1+x"}, [_record()], {"n_items": 1})
    html = render_report(run, None)
    assert "declined draft" in html
    assert "GQA &lt;script&gt;x()&lt;/script&gt; groups heads." in html
    assert "<script>" not in html and "<b>GQA</b>" not in html
    assert "not measured" in html


def test_a_record_without_a_draft_field_still_renders():
    rec = _record()
    del rec["draft"]  # records written before drafts were kept
    html = render_report(EvalRun(Path("run"), {}, [rec], {}), None)
    assert "abstained: the draft answer is mostly unsupported" in html
    assert "declined draft" not in html


SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'


class _Markup(HTMLParser):
    """The elements and attributes a browser would build from a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)


def test_hostile_text_in_an_item_is_escaped_wherever_it_is_shown():
    hostile = f"{SCRIPT} {IMG}"
    rec = _record(
        id=f"q-{IMG}",
        question=f"What is {hostile}?",
        answer=f"It is {hostile}.",
        tags=[SCRIPT],
        history=[[hostile, hostile]],
        abstained=False,
        claims=[{"text": hostile, "supported": False}],
        citations=[
            {"n": 1, "source": IMG, "section": [SCRIPT, IMG], "text": hostile, "gold": True}
        ],
        retrieved=[
            {"rank": 1, "source": SCRIPT, "start": 0, "end": 9, "versions": [{"source": IMG}]}
        ],
    )
    summary = {"n_items": 1, "by_tag": {SCRIPT: {"n": 1, "faithfulness": None}}}
    summary["by_tag"][SCRIPT].update(context_recall=1.0, abstained=0.0)
    config = {"eval_set": IMG, "git_commit": SCRIPT, "tutor_model": {"model": hostile}}
    html = render_report(EvalRun(Path("run"), config, [rec], summary), None)

    assert SCRIPT not in html and "<img" not in html and IMG not in html
    assert html.count(str(escape(SCRIPT))) >= 12  # every field above, escaped, still shown
    assert html.count(str(escape(IMG))) >= 8
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt; &#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    )
    page = _Markup()
    page.feed(html)
    assert not page.tags & {"script", "img"}
    assert not any(name.startswith("on") for name in page.attrs)


def test_a_missing_value_prints_as_nothing_not_as_none():
    html = render_report(EvalRun(Path("run"), {}, [], {}), None)
    assert "None" not in html
    assert "eval set  ()" in html and "commit ;" in html
    assert "tutor model null;" in html  # the config's JSON fields, as before


def test_the_plots_escape_their_labels():
    assert str(escape(SCRIPT)) in bar_svg([(SCRIPT, 0.5)])
    assert SCRIPT not in bar_svg([(SCRIPT, 0.5)])
    runs = [{"run_id": f"run-{IMG}", "summary": {"faithfulness": 0.5}}]
    svg = history_svg(runs)
    assert "<img" not in svg and "&lt;img" not in svg  # the label is the id's last 6 chars
    assert "t(2)&gt;" in svg


def test_the_templates_are_found_beside_the_module_of_this_checkout():
    checkout = Path(__file__).resolve().parents[2]
    assert Path(report.__file__).resolve() == checkout / "evals" / "report.py"
    folder = checkout / "evals" / report.TEMPLATES
    on_disk = sorted(p.name for p in folder.glob("*.j2"))
    assert on_disk == sorted([report.REPORT_TEMPLATE, report.PLOTS_TEMPLATE])
    assert sorted(report.environment().list_templates()) == on_disk
    for name in on_disk:
        template = report.environment().get_template(name)
        assert Path(template.filename).resolve() == folder / name


def test_the_templates_ship_as_package_data():
    checkout = Path(__file__).resolve().parents[2]
    pyproject = tomllib.loads((checkout / "pyproject.toml").read_text(encoding="utf-8"))
    package = checkout / "evals"
    # setuptools globs each pattern from the package folder, as Path.glob does.
    shipped = {
        p
        for pattern in pyproject["tool"]["setuptools"]["package-data"]["evals"]
        for p in package.glob(pattern)
    }
    templates = set((package / report.TEMPLATES).rglob("*"))
    assert templates and templates <= shipped, sorted(map(str, templates - shipped))
    assert "jinja2" in {d.split("==")[0].lower() for d in pyproject["project"]["dependencies"]}


def test_the_environment_escapes_every_template():
    env = report.environment()
    assert env.autoescape is True
    assert str(env.from_string("{{ x }}").render(x=SCRIPT)) == str(escape(SCRIPT))
