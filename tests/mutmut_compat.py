"""A pytest plugin for `make mutation` only: mutmut 3.7 (the last that installs beside aws-sam-cli's
click pin) reads `item._nodeid`, which pytest 9 no longer has."""

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item._nodeid = item.nodeid  # type: ignore[attr-defined]
