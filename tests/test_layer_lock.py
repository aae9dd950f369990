"""What ships is what is tested: the layer installs from one lock file with hashes, and every package it
ships is, version for version, the one the tests run."""

import re
from importlib import metadata

from local.template import ROOT

LAYER = ROOT / "layers" / "wallet"
LOCK = (LAYER / "requirements.txt").read_text()
PINNED = dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", LOCK, re.MULTILINE))


def test_every_package_the_layer_ships_is_the_one_the_tests_run() -> None:
    assert PINNED, "the lock pins nothing"
    differs = {name: (locked, metadata.version(name)) for name, locked in PINNED.items()}
    assert {name: pair for name, pair in differs.items() if pair[0] != pair[1]} == {}, (
        "layer lock vs test environment; recompile the lock (see layers/wallet/requirements.in) or reinstall"
    )


def test_every_locked_package_has_its_hashes() -> None:
    blocks = re.split(r"^(?=[A-Za-z0-9._-]+==)", LOCK, flags=re.MULTILINE)[1:]
    assert len(blocks) == len(PINNED)
    for block in blocks:
        assert "--hash=sha256:" in block, block.splitlines()[0]


def test_the_lock_holds_each_input_at_its_pinned_version() -> None:
    inputs = re.findall(
        r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(\S+)", (LAYER / "requirements.in").read_text(), re.MULTILINE
    )
    assert inputs
    lowered = {name.lower(): version for name, version in PINNED.items()}
    for name, version in inputs:
        assert lowered.get(name.lower()) == version, name


def test_boto3_comes_from_the_runtime() -> None:
    assert "boto3" not in {name.lower() for name in PINNED}
