"""The adapter against a real ``bd``, when one is on PATH (skipped otherwise: the real bd
cannot be installed on the machines this suite usually runs on). It checks what the fake
bd assumes: the JSON shapes with the envelope on, ``show`` answering a list, ``--all`` and
``-n 0``, labels and the external reference, and the error of a missing issue."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hangar.adapters.beads import Bd, BdError

BD = shutil.which("bd")
pytestmark = pytest.mark.skipif(BD is None, reason="no real bd on PATH")


@pytest.fixture
def beads_dir(tmp_path: Path) -> Path:
    assert BD is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BEADS_", "BD_"))}
    env["BEADS_DIR"] = str(tmp_path / ".beads")
    done = subprocess.run(
        [BD, "init", "--prefix", "t", "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr or done.stdout
    return tmp_path / ".beads"


async def test_the_contract_the_fake_speaks(beads_dir: Path) -> None:
    assert BD is not None
    bd = Bd(BD, beads_dir, timeout=60)
    assert await bd.probe()
    made = await bd.create(
        "contract", description="d", labels=["hangar-v1"], external_ref="hangar:01X", priority=1
    )
    assert made.labels == ("hangar-v1",) and made.external_ref == "hangar:01X"
    assert made.priority == 1 and made.status == "open" and made.updated_at
    assert (await bd.show(made.id)).id == made.id
    closed = await bd.close(made.id, "contract test")
    assert closed.closed
    listed = await bd.list_issues(labels=["hangar-v1"])
    assert [(i.id, i.closed) for i in listed] == [(made.id, True)]  # --all shows closures
    with pytest.raises(BdError) as caught:
        await bd.show("t-doesnotexist")
    assert caught.value.message
