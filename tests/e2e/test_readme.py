"""The README's synopsis is a contract: every command in it runs, in order, and succeeds."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _synopsis() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- synopsis -->\s*```bash\n(.*?)```\s*<!-- /synopsis -->", text, re.S)
    assert block, "README.md lost its synopsis block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_readme_synopsis_runs_on_the_embedded_default(tmp_path):
    env = {**os.environ, "CERTLEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'readme.db'}"}
    cli = [sys.executable, "-m", "cli.main"]
    outputs = []
    for line in _synopsis():
        args = shlex.split(line)
        assert args[0] == "certledger"
        done = subprocess.run(cli + args[1:], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"`{line}` failed:\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout)
    joined = "\n".join(outputs)
    assert "cert-0002" in joined and "pix-v2-2024-05" in joined
