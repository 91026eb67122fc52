"""Downloading: requests to one host are paced (the fetches against a local server that
exercise the rest are in test_papers.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from corpus.paper_download import HostPacer

sys.path.insert(0, str(Path(__file__).parent))
from paperserver import FakeTime


@pytest.mark.unit
def test_pacer_waits_per_host():
    fake = FakeTime()
    pacer = HostPacer(3.0, fake.sleep, fake.clock)
    pacer.wait("a")
    pacer.done("a")
    pacer.wait("b")  # another host: no pause
    pacer.done("b")
    fake.now += 1.0
    pacer.wait("a")
    assert fake.sleeps == [2.0]
