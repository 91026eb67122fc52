"""The app in a real headless Chromium (Debian's chromium + chromedriver, via Selenium).

Loads the page, uploads a learner file whose text holds a <script> tag, asks a
question, waits for the answer, opens a citation, checks the script never ran,
submits a practice answer; screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"

EVIL_NOTE = (
    "# Speculative decoding\n\n"
    "Speculative decoding uses a small draft model to propose several tokens that the large "
    "model then verifies in one forward pass. <script>window.__pwned=1</script> "
    '<img src=x onerror="window.__pwned=2"> The accepted tokens are kept.\n'
)
REPLY = (
    "Speculative decoding uses a small draft model to propose several tokens that the large "
    "model verifies in one forward pass [1]."
)


@pytest.fixture
def driver(tmp_path):
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Debian's chromium and chromium-driver are needed: run scripts/setup.sh --dev")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--window-size=1280,1100",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        opts.add_argument(flag)
    drv = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=opts)
    drv.set_page_load_timeout(60)
    yield drv
    drv.quit()


def _shot(drv, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    drv.save_screenshot(str(SHOTS / f"{name}.png"))


def _tab(drv, label: str) -> None:
    from selenium.webdriver.common.by import By

    for button in drv.find_elements(By.CSS_SELECTOR, "button[role='tab']"):
        if button.text.strip() == label:
            button.click()
            return
    raise AssertionError(f"no tab {label!r}")


def test_chat_citation_injection_and_practice_in_chromium(
    driver, serve, practice_index, tmp_path, wait_ready
):
    from gradio_client import Client
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from agent.runtime import Runtime

    url = serve(Runtime(practice_index, fake_responses=[REPLY]))
    assert wait_ready(Client(url, verbose=False))["ready"]
    wait = WebDriverWait(driver, 120)
    driver.get(url)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#question textarea")))
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "ready"))
    _shot(driver, "01-loaded")

    # Upload the learner note through the Library tab.
    note = tmp_path / "speculative.md"
    note.write_text(EVIL_NOTE, encoding="utf-8")
    _tab(driver, "Library")
    _tab(driver, "Your files")
    upload = wait.until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#upload input[type='file']"))
    )
    upload.send_keys(str(note))
    wait.until(ec.text_to_be_present_in_element((By.ID, "upload"), "speculative"))
    driver.find_element(By.ID, "ingest").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "ingest-report"), "chunks_added"))
    assert "speculative.md" in driver.find_element(By.ID, "ingest-report").text
    _shot(driver, "02-ingested")

    # Ask; the answer streams in and is checked against the sources.
    _tab(driver, "Chat")
    box = driver.find_element(By.CSS_SELECTOR, "#question textarea")
    box.send_keys("What is speculative decoding?")
    driver.find_element(By.ID, "send").click()
    marker = wait.until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, "#transcript .answer-body button.cite"))
    )
    _shot(driver, "03-answer")
    target = marker.get_attribute("data-passage")
    marker.click()
    passage = wait.until(ec.visibility_of_element_located((By.ID, target)))
    assert "speculative.md" in passage.text
    assert "<script>window.__pwned=1</script>" in passage.text  # shown as text
    assert passage.find_elements(By.TAG_NAME, "mark")  # the cited span, highlighted
    assert not passage.find_elements(By.TAG_NAME, "script")
    assert not passage.find_elements(By.TAG_NAME, "img")
    assert driver.execute_script("return typeof window.__pwned") == "undefined"
    _shot(driver, "04-citation-open")

    # Practice: answer a self-check question and get a grade report.
    _tab(driver, "Practice")
    answer = wait.until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, "#practice-answer textarea"))
    )
    answer.send_keys(
        "CNNs share weights across positions and use local receptive fields, so they need far "
        "fewer parameters than an MLP and are translation equivariant."
    )
    driver.find_element(By.ID, "grade").click()
    report = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#grade-report .grade")))
    assert "score" in report.text
    _shot(driver, "05-practice-graded")
    assert driver.execute_script("return typeof window.__pwned") == "undefined"


EVAL_ANSWER = (
    "Grouped-query attention uses a few key/value groups, between MHA and MQA [1]. "
    "Multi-query attention shares one key and value head across all query heads [1]."
)


def _tiny_eval_set(path: Path) -> Path:
    import json

    items = [
        {
            "id": f"gqa-{i}",
            "version": "1",
            "question": question,
            "language": "en",
            "history": [],
            "answerable": True,
            "reference_answer": "GQA uses a few key/value groups, between MHA and MQA.",
            "gold": [
                {
                    "source": "guide-en.md",
                    "substring": "Grouped-query attention (GQA) uses a few key/value groups",
                }
            ],
            "tags": ["test"],
        }
        for i, question in enumerate(
            ["What is grouped-query attention?", "How does GQA differ from MQA?"]
        )
    ]
    path.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    return path


def _table_text(drv, elem_id: str) -> str:
    """The text of a Dataframe's body cells (textContent: the grid is virtualised)."""
    return drv.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".map(c => c.textContent.trim()).join(' | ')",
        f"#{elem_id} tbody td",
    )


def test_progress_and_evals_tabs_in_chromium(driver, serve, practice_index, tmp_path, wait_ready):
    from gradio_client import Client
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    from agent.runtime import Runtime
    from corpus.questions import load_question_bank

    settings = practice_index.model_copy(
        update={
            "evals": practice_index.evals.model_copy(
                update={"eval_set": _tiny_eval_set(tmp_path / "evals.jsonl")}
            )
        }
    )
    sq01 = load_question_bank(settings.corpus.dir)[0]
    url = serve(Runtime(settings, fake_responses=[EVAL_ANSWER]))
    assert wait_ready(Client(url, verbose=False))["ready"]
    wait = WebDriverWait(driver, 180)
    driver.get(url)
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "ready"))

    # One graded attempt, then the Progress tab shows it.
    _tab(driver, "Practice")
    answer = wait.until(
        ec.visibility_of_element_located((By.CSS_SELECTOR, "#practice-answer textarea"))
    )
    answer.send_keys("CNNs share weights across positions and use local receptive fields.")
    driver.find_element(By.ID, "grade").click()
    wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#grade-report .grade")))

    _tab(driver, "Progress")
    driver.find_element(By.ID, "progress-refresh").click()
    wait.until(lambda d: sq01.id in _table_text(d, "progress-attempts"))
    chart = driver.find_element(By.ID, "mastery")
    assert sq01.section[-1] in chart.text and "mastered" in chart.text
    # The attempted question's section bar is not empty; the others are.
    bars = chart.find_elements(By.CSS_SELECTOR, ".m-att")
    widths = [b.get_attribute("style") for b in bars]
    assert any("width: 0%" not in w for w in widths) and any("width: 0%" in w for w in widths)
    assert "SQ02" in _table_text(driver, "progress-due")  # unattempted questions are due
    driver.find_element(By.ID, "progress-export").click()
    # Gradio shows the file's stem and suffix in separate elements.
    wait.until(ec.text_to_be_present_in_element((By.ID, "progress-download"), "-attempts"))
    exported = list((settings.index.data_dir / "exports").glob("*-attempts.csv"))
    assert len(exported) == 1 and sq01.id in exported[0].read_text(encoding="utf-8")
    _shot(driver, "06-progress")

    # Evals: nothing yet; a run over the two-item set fills the report and the trend.
    _tab(driver, "Evals")
    driver.find_element(By.ID, "eval-latest").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "eval-trend"), "No eval run yet"))
    driver.find_element(By.ID, "eval-run").click()
    frame = wait.until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#eval-report iframe[sandbox]"))
    )
    report = frame.get_attribute("srcdoc")
    assert "What is grouped-query attention?" in report and "How does GQA differ" in report
    assert "Faithfulness" in report
    assert driver.find_elements(By.CSS_SELECTOR, "#eval-trend svg")
    _shot(driver, "07-evals")
    runs = list((settings.index.data_dir / "eval-runs").glob("*/report.html"))
    assert len(runs) == 1
