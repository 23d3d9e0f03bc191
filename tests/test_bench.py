"""The benchmark scripts start (they are run by hand, so nothing else would notice an import error)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(p.name for p in (ROOT / "bench").glob("*.py") if p.name not in ("__init__.py", "common.py"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_benchmark_script_starts(script):
    result = subprocess.run(
        [sys.executable, f"bench/{script}", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
