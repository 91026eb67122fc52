"""`tutor flashcards export|import` through `cli.cli.main`."""

from __future__ import annotations

import json
import zipfile

import pytest

from cli.cli import main

pytestmark = pytest.mark.unit


@pytest.fixture
def cli(tmp_path, capsys):
    data = tmp_path / "data"

    def run(*args: str) -> tuple[int, str, str]:
        rc = main(["--data-dir", str(data), *args])
        out, err = capsys.readouterr()
        return rc, out, err

    return run


def test_export_json_and_import_back(cli, tmp_path):
    from agent.practice import beginner_questions
    from agent.question_bank import load_settings_bank
    from core.settings import load_settings

    settings = load_settings(overrides={"index.data_dir": tmp_path / "data"}, environ={})
    bank = load_settings_bank(settings)
    beginner = beginner_questions(settings, bank)
    deck = tmp_path / "deck.apkg"
    rc, out, _ = cli(
        "flashcards", "export", "--format", "apkg", "--all", "--out", str(deck), "--json"
    )
    assert rc == 0
    data = json.loads(out)
    assert data["path"] == str(deck) and data["format"] == "apkg"
    assert data["cards"] == len(bank) >= 90 and data["learner"] is None
    assert "collection.anki2" in zipfile.ZipFile(deck).namelist()

    cards = tmp_path / "cards.csv"
    rc, out, _ = cli("flashcards", "export", "--learner", "ana", "--out", str(cards), "--json")
    data = json.loads(out)
    assert rc == 0 and data["format"] == "csv" and data["learner"] == "ana"
    # A new learner: the new questions of the sections open to a beginner.
    assert data["cards"] == len(beginner) < len(bank)

    rc, out, _ = cli("flashcards", "import", str(cards))
    assert rc == 0 and f"{len(beginner)} unchanged" in out and "nothing to apply" in out


def test_import_of_an_edited_csv_refuses_and_says_so(cli, tmp_path):
    cards = tmp_path / "cards.csv"
    assert cli("flashcards", "export", "--all", "--out", str(cards))[0] == 0
    text = cards.read_text(encoding="utf-8")
    cards.write_text(
        text.replace("Both are gated recurrent cells", "Both are cells", 1) + "SQ77,a,b,c,d,e\n",
        encoding="utf-8",
    )
    rc, out, _ = cli("flashcards", "import", str(cards), "--json")
    report = json.loads(out)
    assert rc == 2 and report["applied"] == 0 and not report["ok"]
    assert [d["question_id"] for d in report["changed"]] == ["SQ03"]
    assert report["bad"][0]["message"] == "'SQ77' is not a shipped question"
    assert "not applied" in report["message"]
    rc, out, _ = cli("flashcards", "import", str(cards))
    assert rc == 2 and "SQ03 differs in answer (not applied)" in out
    assert f"line {report['bad'][0]['line']}: bad row" in out


def test_bad_input_is_one_line_not_a_traceback(cli, tmp_path):
    rc, out, err = cli(
        "flashcards", "export", "--out", str(tmp_path / "missing" / "d.apkg"), "--json"
    )
    assert rc == 2 and json.loads(out)["type"] == "InputError"
    assert "does not exist" in err and "Traceback" not in err
    rc, _, err = cli("flashcards", "export", "--out", str(tmp_path / "d.txt"))
    assert rc == 2 and "--format apkg|csv" in err
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe\x00junk")
    rc, _, err = cli("flashcards", "import", str(bad))
    assert rc == 2 and "not UTF-8" in err and "Traceback" not in err
    rc, _, err = cli("flashcards", "export", "--due", "--all", "--out", str(tmp_path / "d.csv"))
    assert rc == 2 and "not allowed with" in err
