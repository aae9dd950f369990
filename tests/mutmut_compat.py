"""A pytest plugin for `make mutation` only: mutmut 3.7 (the last that installs beside aws-sam-cli's
click pin) reads `item._nodeid`, which pytest 9 no longer has. And mutmut runs pytest once a mutant, in a
child forked from a process that has imported everything (moto, boto3, the layer): pytest collects garbage
as each run ends, and a full collection walks that whole inherited heap (half a child's time, measured)."""

import gc

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # What exists before the run is left out of every collection (what gc.freeze is for: a forked child);
    # what the tests create is collected as always.
    gc.freeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item._nodeid = item.nodeid  # type: ignore[attr-defined]
