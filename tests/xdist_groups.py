"""`--dist loadgroup` made to work again: pytest-xdist 3.8 tells its scheduler a test's `xdist_group` by
appending `@group` to the test's node id through `item._nodeid`, which pytest 9 no longer reads (its node ids
are structured: pytest-dev/pytest-xdist#1386, unreleased fix #1388). Without it every group is spread over the
workers and each worker repeats the group's shared set-up (`sam build`, the deployed stacks, the fuzzed server)."""

import pytest
from _pytest.nodeid import NodeId


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not getattr(config.option, "loadgroup", False):  # set in xdist's workers under --dist loadgroup
        return
    for item in items:
        groups = {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
        if not groups:
            continue
        suffix = "@" + "_".join(sorted(groups))
        if item.nodeid.endswith(suffix):  # xdist's own suffix took effect (a pytest before 9, or xdist fixed)
            continue
        item._id = NodeId.parse(item.nodeid + suffix)
        if not item.nodeid.endswith(suffix):
            raise pytest.UsageError(f"{item.nodeid}: its xdist_group no longer reaches the scheduler")
