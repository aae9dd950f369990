"""The published contract fuzzed against the API as `make run` serves it: schemathesis with every check that the
contract can be held to, as an administrator and as a customer, a few deterministic examples per operation
(schema-valid and schema-violating), then the stateful phase that follows the document's links.

A failure prints its reproducing curl (with the real values: the tokens are this run's own). Left out, with
reason: `unsupported_method` and `allow_header_conformance` expect 405 with `Allow` for a method a path does not
declare, where the API answers as API Gateway with the gateway's 404 (API.md, The edge); the coverage phase
(every boundary of every schema: ~2,700 cases and ~3 minutes per caller here) is past this gate's budget.
The refusals a schema-valid request may get for a reason JSON Schema cannot state are listed in hooks.py.
"""

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from local.__main__ import DEFAULT_ADMIN_LOGIN, DEFAULT_ADMIN_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES_PER_OPERATION = 5
CUSTOMER = {"login": "fuzz@example.com", "password": "Fuzz#2026", "role": "INDIVIDUAL", "name": "Fuzz"}
LEFT_OUT_CHECKS = "unsupported_method,allow_header_conformance"

pytestmark = pytest.mark.xdist_group("contract_fuzz")


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """`make run`'s server (`python -m local`) on a port of its own."""
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "local"],
            cwd=ROOT,
            env={**os.environ, "PORT": "0"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield _address(server, log)
        finally:
            server.terminate()
            server.wait(timeout=30)


def _address(server: subprocess.Popen[bytes], log: "tempfile._TemporaryFileWrapper[bytes]") -> str:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and server.poll() is None:
        log.seek(0)
        found = re.search(rb"Wallet API on (http://127\.0\.0\.1:\d+)", log.read())
        if found:
            return found.group(1).decode()
        time.sleep(0.2)
    log.seek(0)
    raise AssertionError(f"the server did not start:\n{log.read().decode(errors='replace')}")


def _token(base_url: str, login: str, password: str) -> str:
    answer = requests.post(f"{base_url}/authorization", json={"login": login, "password": password}, timeout=60)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["authorizationToken"]["token"])


@pytest.fixture(scope="module")
def tokens(served: str) -> dict[str, str]:
    admin = _token(served, DEFAULT_ADMIN_LOGIN, DEFAULT_ADMIN_PASSWORD)
    created = requests.post(
        f"{served}/api/v1/users", json=CUSTOMER, headers={"Authorization": f"Bearer {admin}"}, timeout=60
    )
    assert created.status_code == 201, created.text
    return {"customer": _token(served, CUSTOMER["login"], CUSTOMER["password"]), "administrator": admin}


@pytest.mark.parametrize("caller", ["customer", "administrator"])
def test_the_api_keeps_its_published_contract(served: str, tokens: dict[str, str], caller: str, tmp_path: Path) -> None:
    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{served}/openapi.json",
            "--checks=all",
            f"--exclude-checks={LEFT_OUT_CHECKS}",
            f"--header=Authorization: Bearer {tokens[caller]}",
            f"--max-examples={EXAMPLES_PER_OPERATION}",
            "--generation-deterministic",
            "--phases=examples,fuzzing,stateful",
            "--workers=1",  # the local server answers one call at a time
            "--request-timeout=60",
            "--output-sanitize=false",
            "--no-color",
        ],
        cwd=tmp_path,  # where schemathesis keeps its cache
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.fuzz.hooks", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = run.stdout + run.stderr
    summary = output[output.rfind("SUMMARY") :] if "SUMMARY" in output else output[-3000:]
    print(f"schemathesis as {caller}:\n{summary}")
    assert run.returncode == 0, output
    assert re.search(r"(\d+) generated, \1 passed", summary), summary
