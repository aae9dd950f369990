"""The template is the one source of truth: it must lint, build, and route every handler's paths."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from local.template import ROOT, Template

TEMPLATE = Template()


def _tool(name: str) -> str:
    """A command installed in the same environment as the tests."""
    return str(Path(sys.executable).with_name(name))


def test_template_passes_cfn_lint() -> None:
    result = subprocess.run(
        [_tool("cfn-lint"), str(ROOT / "template.yaml")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_table_is_on_demand_with_point_in_time_recovery() -> None:
    tables = TEMPLATE.resources_of("AWS::DynamoDB::Table")
    assert tables
    for name, props in tables.items():
        assert props["BillingMode"] == "PAY_PER_REQUEST", name
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name


def test_every_function_has_its_own_policies() -> None:
    for name, props in TEMPLATE.resources_of("AWS::Serverless::Function").items():
        assert props.get("Policies"), f"{name} would run with no rights or with a shared role"


@pytest.fixture(scope="module")
def sam_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build_dir = tmp_path_factory.mktemp("sam") / "build"
    result = subprocess.run(
        [_tool("sam"), "build", "--template-file", str(ROOT / "template.yaml"), "--build-dir", str(build_dir)],
        cwd=ROOT,
        # The builder looks for python3.12 on PATH: the tests' own interpreter is that version.
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return build_dir


@pytest.mark.slow
@pytest.mark.xdist_group("sam_build")
def test_sam_build_packs_every_function_and_the_layer(sam_build: Path) -> None:
    for name, function in TEMPLATE.functions().items():
        module_file = function.handler.rpartition(".")[0] + ".py"
        assert (sam_build / name / module_file).is_file(), name
    assert (sam_build / "WalletLayer" / "python" / "wallet" / "identity.py").is_file()
    assert (sam_build / "WalletLayer" / "python" / "jwt").is_dir()
    assert not (sam_build / "WalletLayer" / "python" / "boto3").exists(), "boto3 comes with the runtime"


@pytest.mark.slow
@pytest.mark.xdist_group("sam_build")
def test_native_libraries_match_the_functions_architecture(sam_build: Path) -> None:
    """sam build was seen packing x86-64 binaries for arm64; check every shared object's ELF machine."""
    [architecture] = TEMPLATE.body["Globals"]["Function"]["Architectures"]
    expected_machine = {"x86_64": 0x3E, "arm64": 0xB7}[architecture]
    shared_objects = list((sam_build / "WalletLayer").rglob("*.so"))
    assert shared_objects, "argon2 and pydantic-core ship native code"
    for library in shared_objects:
        header = library.read_bytes()[:20]
        assert header[:4] == b"\x7fELF", library
        assert int.from_bytes(header[18:20], "little") == expected_machine, f"{library.name} is not {architecture}"
