"""Benchmarks that keep the platform's costs visible: `make bench` prints one titled block per section.

Why: on Lambda every cold start pays for importing the handler module before the first request is served.
A raw import time depends on the machine it is measured on, so each figure is set next to a floor measured
in the same run (what any function here pays anyway: boto3 and one client) and read as a ratio.
To add a benchmark, write a section function that prints its own block and call it from main().
"""

import argparse
import os
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for this script's own import of the project's template reader

from local.template import Function, Template  # noqa: E402

DEFAULT_RUNS = 7
PLACEHOLDER = "bench"  # stands in for the template's unresolved values ({"Ref": ...}, {"Fn::GetAtt": ...})

# Each child times only its own work: interpreter startup is excluded. It prints milliseconds.
HANDLER_CHILD = """\
import importlib.util, sys, time
path, name, attribute = sys.argv[1:4]
start = time.perf_counter()
spec = importlib.util.spec_from_file_location(name, path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
elapsed = time.perf_counter() - start
getattr(module, attribute)
print(elapsed * 1000)
"""

FLOOR_CHILD = """\
import time
start = time.perf_counter()
import boto3
boto3.client("dynamodb")
print((time.perf_counter() - start) * 1000)
"""
FLOOR_DESCRIPTION = 'import boto3; boto3.client("dynamodb")'


def child_environment(variables: Mapping[str, Any] | None = None, pythonpath: Sequence[Path] = ()) -> dict[str, str]:
    """A clean environment, as on Lambda: no profile or config file of this machine, dummy credentials."""
    environment = {name: value if isinstance(value, str) else PLACEHOLDER for name, value in (variables or {}).items()}
    environment |= {
        "PATH": os.environ.get("PATH", ""),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    if pythonpath:
        environment["PYTHONPATH"] = os.pathsep.join(str(path) for path in pythonpath)
    return environment


def time_child(code: str, arguments: Sequence[str], environment: Mapping[str, str]) -> float:
    """Runs `code` in a fresh interpreter and returns the milliseconds it reports."""
    result = subprocess.run(
        [sys.executable, "-c", code, *arguments],
        env=dict(environment),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"benchmark child failed ({result.returncode}):\n{result.stderr}")
    return float(result.stdout.strip().splitlines()[-1])


def handler_import_ms(function: Function) -> float:
    module_path, _, attribute = function.handler.rpartition(".")
    module_file = function.code_uri / f"{module_path.replace('.', '/')}.py"
    # A unique module name per function, as two functions may both have an app.py.
    arguments = [str(module_file), f"bench_{function.logical_id}", attribute]
    return time_child(HANDLER_CHILD, arguments, child_environment(function.environment, function.layers))


def floor_ms() -> float:
    return time_child(FLOOR_CHILD, [], child_environment())


def cold_starts(runs: int) -> None:
    """Handler module import time of each function of the template, against the boto3 floor."""
    functions = list(Template().functions().values())
    # One untimed round first, so the figures do not include writing bytecode caches.
    floor_ms()
    for function in functions:
        handler_import_ms(function)
    # Rounds interleave the measurements, so a noisy moment on the machine is shared by all of them.
    floors: list[float] = []
    imports: dict[str, list[float]] = {function.logical_id: [] for function in functions}
    for _ in range(runs):
        floors.append(floor_ms())
        for function in functions:
            imports[function.logical_id].append(handler_import_ms(function))
    floor = statistics.median(floors)

    print(f"Cold starts: handler module import, median of {runs} fresh interpreters (startup excluded)")
    print(f"Floor: `{FLOOR_DESCRIPTION}` in the same kind of interpreter, the least any function pays")
    print()
    width = max(len("function"), *(len(function.logical_id) for function in functions))
    print(f"{'function':<{width}}  {'import ms':>10}  {'floor ms':>10}  {'ratio':>7}")
    print(f"{'-' * width}  {'-' * 10}  {'-' * 10}  {'-' * 7}")
    for function in functions:
        median = statistics.median(imports[function.logical_id])
        print(f"{function.logical_id:<{width}}  {median:>10.1f}  {floor:>10.1f}  {median / floor:>6.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="measurements per figure (median)")
    arguments = parser.parse_args()
    if arguments.runs < 1:
        parser.error("--runs must be at least 1")
    cold_starts(arguments.runs)


if __name__ == "__main__":
    main()
