"""What the end-to-end tests share: a shop database with the demo catalog, made once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A shop's database with the demo catalog, loaded once the staff's way (`catalog demo`)."""
    folder = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{folder / 'shop.db'}"}
    subprocess.run(
        [sys.executable, "-m", "bot", "catalog", "demo"],
        check=True,
        capture_output=True,
        env=env,
        cwd=folder,
    )
    return folder / "shop.db"
