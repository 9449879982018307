"""Shared fixtures of the detector tests: the Whisper base model assembled once per session."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def whisper_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packaged Whisper base model joined into a folder (skips when the asr extra is missing)."""
    if importlib.util.find_spec("faster_whisper") is None:
        pytest.skip("the 'asr' extra is not installed")
    from detectors.asr import assemble_base_model

    return assemble_base_model(tmp_path_factory.mktemp("asr-data"))
