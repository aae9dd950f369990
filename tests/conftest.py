"""One world per test: moto provisioned from template.yaml, the functions' environment, a seeded administrator."""

import importlib
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from argon2 import PasswordHasher, profiles
from aws_lambda_powertools.utilities import parameters

from local.aws import EmbeddedAws
from local.lambdas import LocalLambdas, layer_copies
from local.rules import ExecutionRules
from local.server import LocalApi
from local.streams import LocalStreams
from local.template import ROOT, Template
from wallet import auth, aws, config, limits

pytest_plugins = ["tests.least_privilege", "tests.xdist_groups"]

ADMIN_LOGIN = "admin@wallet.test"
PRODUCTION_HASHER = auth._hasher
ADMIN_PASSWORD = "Admin#Test1"
TEMPLATE = Template()

# Modules such as Powertools' Metrics read their settings when first imported: give them the template's
# literal Globals from the start; then keep test output readable and switch off X-Ray.
GLOBAL_VARIABLES = TEMPLATE.body["Globals"]["Function"]["Environment"]["Variables"]
os.environ.update({name: value for name, value in GLOBAL_VARIABLES.items() if isinstance(value, str)})
os.environ.update(POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_LOG_LEVEL="WARNING", POWERTOOLS_METRICS_DISABLED="true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first: pytest-xdist hands tests out in collection order, and a long one handed out last would
    hold its worker long after the other has finished."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def replace_in_layer(monkeypatch: pytest.MonkeyPatch, module_name: str, attribute: str, value: Any) -> None:
    """Replaces a part of a layer module for the test: in the module the test imports and in every function's
    own copy of it (local/lambdas.py), as the functions run with their own copies of the layer."""
    for module in (importlib.import_module(module_name), *layer_copies(module_name)):
        monkeypatch.setattr(module, attribute, value)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id at argon2's own profile for tests: the production cost (~0.2 s of CPU a hash, several per login
    and sign-up) was most of an HTTP test's time. test_auth holds the production parameters."""
    _hash_cheaply(monkeypatch)


def _hash_cheaply(monkeypatch: pytest.MonkeyPatch) -> None:
    replace_in_layer(monkeypatch, "wallet.auth", "_hasher", _cheapest_hasher)


def _cheapest_hasher() -> PasswordHasher:
    return PasswordHasher.from_parameters(profiles.CHEAPEST)


def tool(name: str) -> str:
    """A command installed in the same environment as the tests."""
    return str(Path(sys.executable).with_name(name))


@pytest.fixture(scope="session")
def sam_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`sam build` of template.yaml, once per test process that asks for it."""
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    result = subprocess.run(
        [
            tool("sam"),
            "build",
            "--template-file",
            str(ROOT / "template.yaml"),
            "--build-dir",
            str(build_dir),
            "--base-dir",
            str(ROOT),
        ],
        # Its working directory holds its dependency cache (.aws-sam/deps): one per build, so builds in parallel
        # test processes do not delete each other's.
        cwd=build_dir.parent,
        # The builder looks for python3.12 on PATH: the tests' own interpreter is that version.
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return build_dir


def _forget_cached_clients() -> None:
    config.settings.cache_clear()
    for client_factory in vars(aws).values():
        if hasattr(client_factory, "cache_clear"):
            client_factory.cache_clear()
    parameters.clear_caches()
    limits.forget_rules()


def start_embedded_aws(**parameters: str) -> EmbeddedAws:
    """moto provisioned from the template, and the layer reading the environment every function gets."""
    _forget_cached_clients()
    world = EmbeddedAws(
        TEMPLATE,
        # Few shards keep moto's tables small (it copies a table per transaction); bench/ uses the default.
        parameters={"AdminLogin": ADMIN_LOGIN, "SystemAccountShards": "4", **parameters},
        secret_values={"AdminPasswordSecret": ADMIN_PASSWORD},
    ).start()
    from tests.least_privilege import watch  # the plugin pytest loaded (pytest_plugins below)

    watch(boto3.DEFAULT_SESSION)  # type: ignore[arg-type]
    os.environ.update(world.process_environment())
    return world


@pytest.fixture
def world_parameters() -> dict[str, str]:
    """Template parameters for a test module's world; a module overrides this fixture to change them."""
    return {}


@contextmanager
def embedded_world(parameters: dict[str, str]) -> Iterator[EmbeddedAws]:
    world = start_embedded_aws(**parameters)
    try:
        yield world
    finally:
        world.stop()
        _forget_cached_clients()


@contextmanager
def running_functions(world: EmbeddedAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalLambdas]:
    """The world's functions, its administrator seeded and its execution rules watching."""
    runtime = LocalLambdas(world)
    # The process's first runtime has just imported the functions' copies of the layer: cheap hashing in them too.
    _hash_cheaply(monkeypatch)
    world.seed("bootstrapped", lambda: runtime.invoke("BootstrapFunction", {}))
    rules = ExecutionRules(runtime).start()
    try:
        yield runtime
    finally:
        rules.stop()
        runtime.close()


@pytest.fixture
def embedded_aws(world_parameters: dict[str, str]) -> Iterator[EmbeddedAws]:
    with embedded_world(world_parameters) as world:
        yield world


@pytest.fixture
def lambdas(embedded_aws: EmbeddedAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalLambdas]:
    with running_functions(embedded_aws, monkeypatch) as runtime:
        yield runtime


@pytest.fixture
def streams(lambdas: LocalLambdas) -> LocalStreams:
    """The template's stream consumers; a test calls `drain()` to deliver what is on the streams."""
    return LocalStreams(lambdas)


@pytest.fixture
def outbox(embedded_aws: EmbeddedAws) -> Any:
    return embedded_aws.outbox


class Api:
    """A client of the local server, as a wallet app would be."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()

    def post(self, path: str, body: Any = None, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self.session.post(self.base_url + path, json=body, headers=headers, timeout=30, **kwargs)

    def get(self, path: str, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.session.get(self.base_url + path, headers=headers, timeout=30, **kwargs)

    def delete(self, path: str, token: str) -> requests.Response:
        return self.session.delete(self.base_url + path, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    def reconciliation(self, token: str) -> dict[str, Any]:
        """A reconciliation run now, and its report: the local server runs the job before answering the run."""
        started = self.post("/ledger/reconciliation/run", None, token)
        assert started.status_code == 202, started.text
        answer = self.get("/ledger/reconciliation", token)
        assert answer.status_code == 200, answer.text
        report: dict[str, Any] = answer.json()
        return report

    def token(self, login: str, password: str) -> str:
        answer = self.post("/authorization", {"login": login, "password": password})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["authorizationToken"]["token"])


@contextmanager
def served(runtime: LocalLambdas) -> Iterator[Api]:
    """The local server on a free port, in a thread, and a client of it."""
    server = LocalApi(("127.0.0.1", 0), runtime)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Api(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def api(lambdas: LocalLambdas) -> Iterator[Api]:
    with served(lambdas) as client:
        yield client


@pytest.fixture
def admin_token(api: Api) -> str:
    return api.token(ADMIN_LOGIN, ADMIN_PASSWORD)
