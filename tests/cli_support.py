"""The `chatshop` command line as staff run it: a subprocess on a SQLite file in a test's folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHATSHOP = [sys.executable, "-m", "bot"]
HEADER = "sku,title,description,price,currency,stock,category,image_url,title_ru,category_ru\n"


def chatshop(
    tmp_path: Path,
    *args: str,
    db: str = "shop.db",
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / db}", **(env or {})}
    return subprocess.run(
        [*CHATSHOP, *args],
        check=False,
        capture_output=True,
        text=True,
        env=environ,
        cwd=tmp_path,
        timeout=timeout,
    )


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = HEADER + (
    'TEA-1,Earl Grey 100 g,"Black tea, bergamot",4.50,USD,20,Tea,,Эрл Грей 100 г,Чай\n'
    "CUP-1,Mug 300 ml,Ceramic,7.00,USD,5,Kitchen,https://example.com/mug.jpg,Кружка 300 мл,Кухня\n"
)
