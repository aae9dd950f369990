"""What a cold start does not import: each choice that keeps a function's init short (bench/run.py times them)
is held here as behaviour, in fresh interpreters that import the handlers as Lambda would."""

import ast
import json
import os
import subprocess
import sys
from functools import cache
from typing import Any

from local.template import Template
from wallet.models.identity import EMAIL_FORM

# Imports every handler given as (unique name, file) and prints the modules loaded.
IMPORT_HANDLERS = """\
import importlib.util, json, sys
for name, path in json.loads(sys.argv[1]):
    spec = importlib.util.spec_from_file_location(name, path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(json.dumps(sorted(sys.modules)))
"""


# Imports one handler and prints what the garbage collector did during and after its init.
COLLECTOR_DURING_INIT = """\
import gc, importlib.util, json, sys
gc.collect()  # the next collection would come only after some hundreds of new objects
started = []
gc.callbacks.append(lambda phase, info: phase == "start" and started.append(info["generation"]))
spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(json.dumps({"collections": len(started), "enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


@cache  # several tests ask of the same handlers; each answer costs a fresh interpreter
def modules_loaded_by(*logical_ids: str) -> frozenset[str]:
    functions = Template().functions()
    chosen = [functions[logical_id] for logical_id in logical_ids or functions]
    handlers = [(f"handler_{function.logical_id}", str(function.code_uri / "app.py")) for function in chosen]
    layers = {str(layer) for function in chosen for layer in function.layers}
    # No other variable is needed: settings are read on first use, not at import.
    answer = subprocess.run(
        [sys.executable, "-c", IMPORT_HANDLERS, json.dumps(handlers)],
        env={"PYTHONPATH": os.pathsep.join(sorted(layers))},
        capture_output=True,
        text=True,
        check=True,
    )
    return frozenset(json.loads(answer.stdout))


def test_no_function_imports_the_xray_sdk_argon2_or_powertools_parser_at_init() -> None:
    loaded = modules_loaded_by()
    heavy = ("aws_xray_sdk", "argon2", "aws_lambda_powertools.utilities.parser")
    assert not {name for name in loaded if name.startswith(heavy)}


def test_the_authorizer_verifies_tokens_without_pydantic_models_or_stores() -> None:
    loaded = modules_loaded_by("AuthorizerFunction")
    assert "wallet.auth" in loaded
    heavy = ("pydantic", "wallet.models.identity", "wallet.identity_store")
    assert not {name for name in loaded if name.startswith(heavy)}


def test_committing_events_imports_their_types_not_their_data_models() -> None:
    assert "wallet.models.event_data" not in modules_loaded_by()


def test_the_stream_and_queue_consumers_build_no_model_so_import_no_pydantic() -> None:
    for logical_id in ("PublisherFunction", "DeliveryFunction"):
        assert not {name for name in modules_loaded_by(logical_id) if name.startswith("pydantic")}, logical_id


def test_the_money_functions_read_identity_records_without_the_identity_apis_models() -> None:
    loaded = modules_loaded_by("CoinsFunction", "TransfersFunction", "RequestsFunction", "WorkflowFunction")
    assert "wallet.models.identity" in loaded
    assert "wallet.models.identity_api" not in loaded


def test_every_handler_module_starts_and_ends_its_init_with_the_collector_module() -> None:
    for logical_id, function in Template().functions().items():
        body = ast.parse((function.code_uri / "app.py").read_text()).body
        assert ast.unparse(body[1]) == "import wallet.cold_start", logical_id  # body[0] is the docstring
        assert ast.unparse(body[-1]) == "wallet.cold_start.init_done()", logical_id


def test_an_init_runs_without_collections_and_leaves_the_collector_on_with_its_objects_frozen() -> None:
    function = Template().functions()["TransfersFunction"]
    answer = subprocess.run(
        [sys.executable, "-c", COLLECTOR_DURING_INIT, str(function.code_uri / "app.py")],
        env={"PYTHONPATH": os.pathsep.join(str(layer) for layer in function.layers)},
        capture_output=True,
        text=True,
        check=True,
    )
    after_init = json.loads(answer.stdout)
    assert after_init["collections"] == 0
    assert after_init["enabled"]
    assert after_init["frozen"] > 0


def test_the_workflow_steps_import_the_decisions_path_not_the_apis() -> None:
    """The steps decide requests already priced and held: no pricing, catalog, limit rules, tokens or their models."""
    loaded = modules_loaded_by("WorkflowFunction")
    assert "wallet.approval" in loaded
    api_side = {
        "jwt",
        "wallet.auth",
        "wallet.payments",
        "wallet.commission",
        "wallet.catalog",
        "wallet.catalog_store",
        "wallet.limits",
        "wallet.identity_store",
        "wallet.models.audit",
        "wallet.models.limits",
        "wallet.models.catalog",
        "wallet.models.requests_api",
        "wallet.models.accounts",
    }
    assert not api_side & loaded


def test_the_screening_steps_define_no_account_or_request_api_models() -> None:
    loaded = modules_loaded_by("AmlCheckFunction", "CardProviderFunction")
    assert "wallet.models.requests" in loaded  # the subject they screen
    assert not {"wallet.models.accounts", "wallet.models.requests_api"} & loaded


def test_checking_limits_imports_no_accounts_domain() -> None:
    """Limits find an account through the ledger's reads: paying, transferring and setting a rule open none."""
    for logical_id in ("RequestsFunction", "TransfersFunction", "SetupFunction"):
        loaded = modules_loaded_by(logical_id)
        assert "wallet.limits" in loaded, logical_id
        assert "wallet.accounts" not in loaded, logical_id


def test_an_account_serial_or_a_priced_operation_does_not_define_the_account_or_transfer_models() -> None:
    """An account's serial, its owner as others see it and a priced operation are shared types
    (wallet.models.base, wallet.models.identity, wallet.models.catalog), not reasons to define every account or
    transfer model."""
    loaded = modules_loaded_by("RequestsFunction")
    assert "wallet.payments" in loaded
    assert not {"wallet.models.accounts", "wallet.models.transfers"} & loaded
    for logical_id in ("TransfersFunction", "SetupFunction"):
        assert "wallet.models.accounts" not in modules_loaded_by(logical_id), logical_id


def test_the_accounts_function_reads_an_operation_without_the_request_queues() -> None:
    loaded = modules_loaded_by("CoinsFunction")
    assert "wallet.back_office" in loaded
    assert not {"wallet.requests_store", "wallet.models.requests", "wallet.models.requests_api"} & loaded


def test_the_requests_function_starts_the_workflow_without_defining_its_steps_contract() -> None:
    """It builds the subject a workflow starts with; what screenings answer and the steps' tasks are the steps' own."""
    assert "wallet.models.workflow" in modules_loaded_by("WorkflowFunction", "AmlCheckFunction")
    loaded = modules_loaded_by("RequestsFunction")
    assert "wallet.models.requests" in loaded
    assert "wallet.models.workflow" not in loaded


def test_the_users_function_imports_no_log_in_or_registration_code_or_models() -> None:
    """Staff's users and a user's own password need a password checked under its lock-out (wallet.passwords), not the
    log-in that issues tokens, self-registration or recovery, their one-time codes and messages, nor their models."""
    assert {"wallet.logins", "wallet.models.logins_api"} <= modules_loaded_by("AuthFunction")
    loaded = modules_loaded_by("UsersFunction")
    assert {"wallet.identity", "wallet.passwords", "wallet.models.identity_api"} <= loaded
    ways_in = {"wallet.logins", "wallet.models.logins_api", "wallet.one_time_codes", "wallet.notifications"}
    assert not ways_in & loaded


def test_the_accounts_function_reads_and_starts_reconciliations_without_the_scans() -> None:
    """Its routes read the latest report and invoke the reconciliation function; the scans and their sums run there."""
    job = modules_loaded_by("ReconciliationFunction")
    assert "wallet.reconciliation" in job
    assert not {"jwt", "wallet.auth"} & job  # the job checks no token
    loaded = modules_loaded_by("CoinsFunction")
    assert "wallet.reconciliation_runs" in loaded
    assert "wallet.reconciliation" not in loaded


def printed_after_every_handler_init(printing: str, *, first: str = "") -> Any:
    """What `printing` (a Python expression) is, as JSON, once every handler is imported in one interpreter that
    ran `first` (Python statements) before them."""
    functions = Template().functions()
    handlers = [(f"handler_{logical_id}", str(functions[logical_id].code_uri / "app.py")) for logical_id in functions]
    probe = first + IMPORT_HANDLERS.replace("json.dumps(sorted(sys.modules))", f"json.dumps({printing})")
    answer = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(handlers)],
        env={"PYTHONPATH": os.pathsep.join(sorted({str(layer) for f in functions.values() for layer in f.layers}))},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(answer.stdout)


# Records every regular expression compiled from then on: re.compile, re.match and the rest call re._compile.
RECORD_COMPILES = """\
import re
compiled = []
compile_pattern = re._compile
def recording(pattern, flags):
    compiled.append(str(pattern))
    return compile_pattern(pattern, flags)
re._compile = recording
"""


def test_no_init_compiles_the_e_mail_pattern() -> None:
    """Its Unicode classes take about a millisecond to compile: a login is checked on first use, not at import."""
    compiled = printed_after_every_handler_init("compiled", first=RECORD_COMPILES)
    assert any("+[1-9]" in pattern for pattern in compiled)  # the phone pattern is: the probe sees compiles
    assert not [pattern for pattern in compiled if EMAIL_FORM in pattern]


def test_the_users_function_records_who_acted_without_operations_or_money() -> None:
    """An audit entry names its actor (wallet.models.actors); the ledger's operations and money figures are not its."""
    loaded = modules_loaded_by("UsersFunction")
    assert "wallet.models.actors" in loaded
    assert not {"wallet.models.operations", "wallet.money"} & loaded


# The dataclasses the wallet's own modules define.
WALLET_DATACLASSES = """sorted(
    f"{name}.{kind.__qualname__}"
    for name, module in list(sys.modules.items())
    if name.startswith("wallet")
    for kind in vars(module).values()
    if isinstance(kind, type) and kind.__module__ == name and "__dataclass_fields__" in vars(kind)
)"""


def test_no_init_defines_a_dataclass_where_a_named_tuple_does() -> None:
    """A dataclass compiles its methods with exec at every cold start (a frozen one six: about 4.7 M instructions
    for five fields), a NamedTuple one (about 0.8 M): immutable records are NamedTuples. The dataclasses left need
    what a tuple lacks: fields left out of equality (Caller), dataclasses.fields (Settings), dataclasses.replace and
    no equality with a plain tuple for the one record every movement of money is (Posting), or mutation (the
    reconciliation's sums, in a batch job)."""
    needed = {
        "wallet.auth.Caller",
        "wallet.config.Settings",
        "wallet.ledger.Posting",
        "wallet.reconciliation._Accounts",
        "wallet.reconciliation._Entries",
    }
    assert set(printed_after_every_handler_init(WALLET_DATACLASSES)) == needed
