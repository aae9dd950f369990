"""Benchmarks that keep the platform's costs visible: `make bench` prints one titled block per section.

Why: on Lambda every cold start pays for importing the handler module before the first request is served.
A raw import time depends on the machine it is measured on, so each figure is set next to a floor measured
in the same run (what any function here pays anyway: boto3 and one client) and read as a ratio. Times move
with the machine (on these VMs the floor's median moved by a sixth between runs), so the same imports are also
counted in instructions under valgrind, a figure that repeats to about 0.1 %.
The ledger's costs are counted, not timed: the DynamoDB calls one posting makes, and how many postings write
the busiest item (DynamoDB serves an item's writes one at a time, so that share bounds an issuer's throughput).
A transfer is counted the same way through TransfersFunction's handler, and timed in-process on moto against
the same DynamoDB calls made bare through the layer: only that ratio, the handler's overhead, is read.
Money in and out is counted through RequestsFunction's handler: top-ups, withdrawal requests and decisions
(each event rides in the operation's one write). The outbox section times commit to EventBridge and on to a
webhook receiver on make run.
A hot account is counted under bursts of concurrent payments: refusals, failed writes, added round trips.
The reconciliation job is timed on a ledger of a few thousand items (items read per minute, on moto).
To add a benchmark, write a section function that prints its own block and call it from main().
"""

import argparse
import importlib.metadata
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for this script's own import of the project's template reader
sys.path.insert(0, str(ROOT / "layers" / "wallet"))  # the layer, for the ledger section's in-process world

from bench import ledger, lifecycle, outbox, payments, reconciliation, transfers  # noqa: E402
from local.template import Function, Template  # noqa: E402

DEFAULT_RUNS = 7
TRANSFER_SAMPLES = 50  # rounds of one transfer each way, for the transfer section's medians
HOT_ACCOUNT_BURSTS = (16, 64, 256)  # concurrent payments to one account
OUTBOX_SAMPLES = 20  # top-ups whose commit-to-bus delay is measured
PAYMENT_SAMPLES = 3  # of each top-up, request and decision, for the money in and out section's counts
LIFECYCLE_SAMPLES = 10  # transfers under a limit rule, each refunded in part, for the limits and refunds counts
RECONCILIATION_COPIES = 2_000  # customers copied into the ledger: an account and two journal entries each
RECONCILIATION_SEGMENTS = (1, 4, 8)
# What Lambda's Python runtime provides besides the standard library; the rest comes from the layer's lock.
LAMBDA_RUNTIME_DISTRIBUTIONS = {"boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"}
LAYER_LOCK = ROOT / "layers" / "wallet" / "requirements.txt"
PLACEHOLDER = "bench"  # stands in for the template's unresolved values ({"Ref": ...}, {"Fn::GetAtt": ...})

# Each child times only its own work and prints milliseconds; the parent also times the whole process,
# interpreter startup included. ABSENT runs first: the child's last argument names the modules Lambda would not
# find (`absent_modules`), made unimportable so that optional imports (botocore's of awscrt, urllib3's of
# pyOpenSSL, PyJWT's of cryptography) go as on Lambda, not as this machine's tool-laden venv would take them.
ABSENT = """\
import sys
for name in sys.argv.pop().split(","):
    sys.modules.setdefault(name, None)
"""

# Lambda keeps a container's interpreter after its init: the teardown at exit is no part of a cold start. A child
# leaves without it, so the process figures do not count it (nor favour a function whose init froze its objects
# out of the collector, wallet.cold_start, which makes that teardown cheaper).
LEAVE = """\
sys.stdout.flush()
import os
os._exit(0)
"""

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
# Counts instructions only (no cache simulation, no output file): the cold starts' steady second measure.
CACHEGRIND = ("valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null")


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


def absent_modules() -> str:
    """The top-level modules installed here that neither Lambda's runtime nor the layer's lock provides."""
    locked = {line.split("==")[0].lower() for line in LAYER_LOCK.read_text().splitlines() if "==" in line}
    provided = {_normalised(name) for name in LAMBDA_RUNTIME_DISTRIBUTIONS | locked}
    installed = importlib.metadata.packages_distributions()
    return ",".join(
        sorted(
            module
            for module, distributions in installed.items()
            if module.isidentifier() and not provided & {_normalised(name) for name in distributions}
        )
    )


def _normalised(distribution: str) -> str:
    return distribution.lower().replace("_", "-").replace(".", "-")


@dataclass(frozen=True)
class Timing:
    own_ms: float  # what the child timed itself: the import, interpreter startup excluded
    process_ms: float  # the whole child process, as the parent saw it


def time_child(code: str, arguments: Sequence[str], environment: Mapping[str, str], absent: str) -> Timing:
    """Runs `code` in a fresh interpreter: the milliseconds it reports, and those of the whole process."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", ABSENT + code + LEAVE, *arguments, absent],
        env=dict(environment),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    process_ms = (time.perf_counter() - start) * 1000
    if result.returncode != 0:
        raise RuntimeError(f"benchmark child failed ({result.returncode}):\n{result.stderr}")
    return Timing(float(result.stdout.strip().splitlines()[-1]), process_ms)


def handler_import(function: Function, absent: str) -> Timing:
    environment = child_environment(function.environment, function.layers)
    return time_child(HANDLER_CHILD, handler_arguments(function), environment, absent)


def floor(absent: str) -> Timing:
    return time_child(FLOOR_CHILD, [], child_environment(), absent)


def handler_arguments(function: Function) -> list[str]:
    module_path, _, attribute = function.handler.rpartition(".")
    module_file = function.code_uri / f"{module_path.replace('.', '/')}.py"
    # A unique module name per function, as two functions may both have an app.py.
    return [str(module_file), f"bench_{function.logical_id}", attribute]


def count_instructions(code: str, arguments: Sequence[str], environment: Mapping[str, str], absent: str) -> int:
    """The instructions a fresh interpreter running `code` executes, counted by valgrind's cachegrind. A
    fixed hash seed makes the count repeat (to about 0.1 %): sets and dicts of strings then lay out alike."""
    result = subprocess.run(
        [*CACHEGRIND, sys.executable, "-c", ABSENT + code + LEAVE, *arguments, absent],
        env=dict(environment, PYTHONHASHSEED="0"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    counted = re.search(r"I\s+refs:\s+([\d,]+)", result.stderr)
    if result.returncode != 0 or counted is None:
        raise RuntimeError(f"benchmark child failed under valgrind ({result.returncode}):\n{result.stderr}")
    return int(counted[1].replace(",", ""))


def cold_starts(runs: int) -> None:
    """Handler module import time of each function of the template, against the boto3 floor: as the child
    timed it, and as whole processes (what a cold start pays, interpreter startup included)."""
    functions = list(Template().functions().values())
    absent = absent_modules()
    # One untimed round first, so the figures do not include writing bytecode caches.
    floor(absent)
    for function in functions:
        handler_import(function, absent)
    # Rounds interleave the measurements, so a noisy moment on the machine is shared by all of them.
    floors: list[Timing] = []
    imports: dict[str, list[Timing]] = {function.logical_id: [] for function in functions}
    for _ in range(runs):
        floors.append(floor(absent))
        for function in functions:
            imports[function.logical_id].append(handler_import(function, absent))
    floor_own = statistics.median(timing.own_ms for timing in floors)
    floor_process = statistics.median(timing.process_ms for timing in floors)

    print(f"Cold starts: handler module import, median of {runs} fresh interpreters (startup excluded),")
    print("and the whole process beside a whole process doing the floor (startup included)")
    print(f"Floor: `{FLOOR_DESCRIPTION}` in the same kind of interpreter, the least any function pays")
    print("Modules Lambda would not find (neither its runtime nor the layer's lock has them) are made unimportable")
    print()
    width = max(len("function"), *(len(function.logical_id) for function in functions))
    columns = ("import ms", "floor ms", "ratio", "process ms", "floor ms", "ratio")
    print(f"{'function':<{width}}  " + "  ".join(f"{column:>10}" for column in columns))
    print(f"{'-' * width}  " + "  ".join("-" * 10 for _ in columns))
    for function in functions:
        own = statistics.median(timing.own_ms for timing in imports[function.logical_id])
        process = statistics.median(timing.process_ms for timing in imports[function.logical_id])
        print(
            f"{function.logical_id:<{width}}  {own:>10.1f}  {floor_own:>10.1f}  {own / floor_own:>9.2f}x"
            f"  {process:>10.1f}  {floor_process:>10.1f}  {process / floor_process:>9.2f}x"
        )


def cold_start_instructions() -> None:
    """Each function's handler import and the floor, counted in instructions: one run each, as the count
    repeats where a time moves with the machine (the floor's median by a sixth between runs here)."""
    print("Cold starts counted: instructions executed (valgrind's cachegrind), interpreter startup subtracted")
    if shutil.which(CACHEGRIND[0]) is None:
        print("skipped: valgrind is not installed (e.g. `apt-get install valgrind`)")
        return
    functions = list(Template().functions().values())
    absent = absent_modules()
    children = {
        "startup": ("print(0)\n", [], child_environment()),  # what every child runs besides its own code
        "floor": (FLOOR_CHILD, [], child_environment()),
    } | {
        function.logical_id: (
            HANDLER_CHILD,
            handler_arguments(function),
            child_environment(function.environment, function.layers),
        )
        for function in functions
    }
    for code, arguments, environment in children.values():  # bytecode caches written first, as for the times
        time_child(code, arguments, environment, absent)
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        counts = dict(
            zip(
                children,
                pool.map(lambda child: count_instructions(*child, absent), children.values()),
                strict=True,
            )
        )
    startup = counts.pop("startup")
    floor_count = counts.pop("floor") - startup
    print(f"Floor: `{FLOOR_DESCRIPTION}`, {floor_count / 1e6:.0f} M instructions after startup")
    print()
    width = max(len("function"), *(len(function.logical_id) for function in functions))
    print(f"{'function':<{width}}  {'M instr':>10}  {'ratio':>10}")
    print(f"{'-' * width}  {'-' * 10}  {'-' * 10}")
    for function in functions:
        own = counts[function.logical_id] - startup
        print(f"{function.logical_id:<{width}}  {own / 1e6:>10.0f}  {own / floor_count:>9.2f}x")


def ledger_costs() -> None:
    """DynamoDB calls per posting, and the busiest item's share of 1,000 postings on one issuer."""
    with ledger.embedded_world():
        shards = ledger.shards_in_use()
        if shards != ledger.template_shards():
            raise RuntimeError(f"the layer sees {shards} shards, the template's default is {ledger.template_shards()}")
        issuer = ledger.Issuer.create()
        calls = ledger.calls_per_posting(issuer)
        hot = ledger.hot_items(issuer)

    print("Ledger: DynamoDB calls and items written per posting, counted through the layer on embedded moto")
    print(f"System account shards: {shards}, the template's SystemAccountShards default. Counts only: no timings.")
    print()
    print("Calls per ledger.post, executed (target: 1 write call, reads batched into at most 1 call)")
    width = max(len("posting"), *(len(posting.kind) for posting in calls))
    print(f"{'posting':<{width}}  {'writes':>6}  {'reads':>5}  {'other':>5}  {'target':<6}  operations, all samples")
    print(f"{'-' * width}  {'-' * 6}  {'-' * 5}  {'-' * 5}  {'-' * 6}  {'-' * 23}")
    for posting in calls:
        met = set(posting.writes) == {1} and max(posting.reads) <= 1 and max(posting.others) == 0
        operations = ", ".join(f"{count} {name}" for name, count in sorted(posting.operations.items()))
        print(
            f"{posting.kind:<{width}}  {_spread(posting.writes):>6}  {_spread(posting.reads):>5}  "
            f"{_spread(posting.others):>5}  {'met' if met else 'MISSED':<6}  "
            f"{operations} in {posting.postings} postings"
        )
    print()

    target = 1 / shards
    print(f"Hot items: {hot.postings} postings on one issuer, the items each TransactWriteItems writes")
    print(
        f"Mix: {hot.credits} credits from the issuer's emission account to {hot.customers} customer accounts, "
        f"{hot.transfers} transfers among them."
    )
    print("The layer prepares each posting as usual (reads the accounts, builds the TransactWriteItems); the")
    print("TransactWriteItems is recorded, NOT executed: moto copies every table on each transaction, which takes")
    print("minutes for 1,000. Executed credits funded the accounts beforehand; they are not counted.")
    print()
    (busiest, count), *_ = hot.postings_per_item.most_common(1)
    share = count / hot.postings
    verdict = "met" if share <= target else f"EXCEEDED by {count - hot.postings * target:.1f} postings"
    print(f"busiest item: {_describe(busiest, hot)}")
    print(f"  {count} of {hot.postings} postings ({share:.1%}); target at most 1/{shards} ({target:.2%}): {verdict}")
    mean = sum(hot.emission_shards) / shards
    most = max(hot.emission_shards)
    print(f"emission shards: the {hot.credits} credits, spread by hashing the business process id (shard_for)")
    print(
        f"  mean {mean:.1f} per shard ({mean / hot.postings:.1%} of postings), min {min(hot.emission_shards)}, "
        f"max {most}: the busiest shard took {most / hot.credits:.1%} of the credits (even spread: {target:.2%})"
    )
    print("  (transfers touch no system account, so the busiest item's share of all postings falls with them)")
    customers = [
        count
        for (_, pk, sk), count in hot.postings_per_item.items()
        if pk in hot.customer_accounts and sk == ledger.ACCOUNT_SORT_KEY
    ]
    print(
        f"customer accounts: busiest {max(customers)} of {hot.postings} postings "
        f"({max(customers) / hot.postings:.1%}), mean {sum(customers) / len(customers):.1f} per account"
    )
    shared = sum(1 for count in hot.postings_per_item.values() if count > 1)
    print(
        f"items written: {len(hot.postings_per_item)}; {shared} by more than one posting (balance items), "
        "each of the others by one (process records, journal entries)"
    )
    print("A shard's journal entries share its pk in the journal table: that partition takes the shard's share too.")


def hot_account(bursts: Sequence[int] = HOT_ACCOUNT_BURSTS) -> None:
    """Bursts of concurrent payments to one account, each DynamoDB call taking its turn (counts, no timings)."""
    measured = []
    for size in bursts:
        with ledger.embedded_world():
            measured.append(ledger.hot_account_burst(ledger.Issuer.create(), size))
    print("Hot account: N customers pay one merchant at once, through the layer; each DynamoDB call takes its turn")
    print("in a seeded order (tests/unit/dynamodb_harness.py), backoff pauses pass at once. Target: none refused.")
    print("Added round trips: DynamoDB calls a payment made beyond its uncontended read and write (one failed write")
    print("costs two: the write, then the read of the account's new version).")
    header = f"{'N':>4}  {'succeeded':>9}  {'refused':>7}  {'failed writes':>13}  {'added round trips: mean':>23}"
    print(f"{header}  {'max':>4}")
    print(f"{'-' * 4}  {'-' * 9}  {'-' * 7}  {'-' * 13}  {'-' * 23}  {'-' * 4}")
    for burst in measured:
        print(
            f"{burst.payments:>4}  {burst.payments - burst.refused:>9}  {burst.refused:>7}  {burst.failed_writes:>13}  "
            f"{statistics.mean(burst.added_calls):>23.1f}  {max(burst.added_calls):>4}"
        )


def transfer_costs(samples: int = TRANSFER_SAMPLES) -> None:
    """DynamoDB calls per transfer through TransfersFunction's handler, and its in-process time over the same
    calls made bare through the layer."""
    with transfers.World.embedded() as world:
        measured = transfers.measure(world, samples)
    handler, bare = measured.handler, measured.bare
    writes = [calls.writes for calls in handler.calls]
    reads = [calls.reads for calls in handler.calls]
    others = [calls.others for calls in handler.calls]
    met = set(writes) == {1} and max(reads) <= 2 and max(others) == 0

    print(f"Transfers: POST /transfers through {transfers.FUNCTION}'s handler, in this process on embedded moto")
    rule = transfers.RULE
    print(
        f"World: one issuer with a TRANSFER commission rule ({rule['percent']}% + {rule['fixed']}), a funded source "
        f"coin, {len(world.destinations)} destination coins; nothing else."
    )
    print()
    print("DynamoDB calls per transfer, during the handler's invocation (target: 1 write call, at most 2 read calls)")
    print("DynamoDB only: the token's signing key comes from Secrets Manager, cached by Powertools (not counted).")
    print(f"{'writes':>6}  {'reads':>5}  {'other':>5}  {'target':<6}  operations, all samples")
    print(f"{'-' * 6}  {'-' * 5}  {'-' * 5}  {'-' * 6}  {'-' * 23}")
    print(
        f"{_spread(writes):>6}  {_spread(reads):>5}  {_spread(others):>5}  {'met' if met else 'MISSED':<6}  "
        f"{_operations(handler.operations())} in {samples} transfers"
    )
    print()

    if handler.operations() != bare.operations() or handler.shapes != bare.shapes:
        raise RuntimeError(
            f"the bare calls differ from the handler's: {_operations(bare.operations())}, transactions "
            f"{sorted(bare.shapes)} against {sorted(handler.shapes)}"
        )
    ratio = handler.median_ms() / bare.median_ms()
    print(f"Latency: {samples} rounds of one transfer each way, back to back (every one a new posting, none a replay)")
    print("Bare: the same DynamoDB calls through the layer, no handler: ledger_store.read_accounts (BatchGetItem,")
    print("with the caller's token state), catalog_store.get_commission_rule (GetItem), ledger.post of the same")
    print("3-leg posting (TransactWriteItems); checked to make the same operations and transactions of the same")
    print("shape as the handler.")
    print(
        "Absolute times are moto's in this process, not DynamoDB's: only the ratio (handler over bare) means anything."
    )
    print()
    print(f"{'':<23}  {'through handler ms':>18}  {'bare calls ms':>13}  {'ratio':>7}")
    print(f"{'-' * 23}  {'-' * 18}  {'-' * 13}  {'-' * 7}")
    print(f"{'median':<23}  {handler.median_ms():>18.2f}  {bare.median_ms():>13.2f}  {ratio:>6.2f}x")
    print(f"{'median of round ratios':<23}  {'':>18}  {'':>13}  {handler.paired_ratio(bare):>6.2f}x")
    fastest = handler.fastest_ms() / bare.fastest_ms()
    print(f"{'fastest':<23}  {handler.fastest_ms():>18.2f}  {bare.fastest_ms():>13.2f}  {fastest:>6.2f}x")
    print("Other work on the machine moves the medians; a round's two transfers share its moment, and the fastest")
    print("of each side is the least disturbed, so those two ratios are the steadier reading.")
    if ratio < 1:
        print("The median ratio is below 1: the machine's noise exceeded the handler's overhead in this run.")
    print("moto deep-copies a table per element of a transaction: the items each transfer puts (process record,")
    print("journal entries) are deleted after it, untimed, so every transfer meets tables of the same few items.")


def limits_and_refunds(samples: int = LIFECYCLE_SAMPLES) -> None:
    """DynamoDB calls per transfer with a limit rule in force, and per refund, through the handler."""
    measured = lifecycle.measure(samples)
    print(f"Limits and refunds: {samples} transfers through {transfers.FUNCTION}'s handler with a limit rule in force")
    print("(per operation, daily and monthly, amount and count: four counters), each then refunded in part by its")
    print("recipient (POST /transfers/{businessProcessId}/refund). Counts only: no timings.")
    print("Targets: a transfer still makes 1 write call and its reads are unchanged (2) or one more (the rules,")
    print("read with one BatchGetItem and cached for 30 s per container); a refund makes 1 write call.")
    print()
    print(f"{'operation':<22}  {'writes':>6}  {'reads':>5}  {'elements':>8}  {'target':<6}  operations, all samples")
    print(f"{'-' * 22}  {'-' * 6}  {'-' * 5}  {'-' * 8}  {'-' * 6}  {'-' * 23}")
    for name, samples_of, most_reads in (
        ("transfer, limits on", measured.transfers, 3),
        ("refund", measured.refunds, 2),
    ):
        writes = [sample.calls.writes for sample in samples_of]
        reads = [sample.calls.reads for sample in samples_of]
        met = set(writes) == {1} and max(reads) <= most_reads
        operations = sum((sample.calls.operations for sample in samples_of), Counter[str]())
        print(
            f"{name:<22}  {_spread(writes):>6}  {_spread(reads):>5}  "
            f"{_spread([sample.elements for sample in samples_of]):>8}  {'met' if met else 'MISSED':<6}  "
            f"{_operations(operations)}"
        )
    reading = sum(1 for sample in measured.transfers if sample.calls.reads > 2)
    print(
        f"{reading} of {samples} transfers read the rules: the first (nothing cached yet), and any made once the "
        "30 s cache had expired."
    )
    print("elements: the TransactWriteItems' items: the transfer's own (record, 2 balances, commission shard,")
    print("3 journal entries) and one counter per limit; a refund's own and the original's refunded total.")


def reconciliation_rate(
    copies: int = RECONCILIATION_COPIES, segment_counts: tuple[int, ...] = RECONCILIATION_SEGMENTS
) -> None:
    """Items per minute the reconciliation job reads and checks, on the embedded world."""
    rates, pace = reconciliation.measure(copies, segment_counts)
    print(f"Reconciliation: the job (reconciliation.run: parallel scans, report stored) over a ledger of {copies}")
    print("copied customers (an account and two journal entries each) on embedded moto, once per segment count.")
    print("moto is not DynamoDB and its threads share one interpreter: read these as the job's own pace, not")
    print("DynamoDB's (README, Reconciliation, for how far it goes on AWS).")
    print()
    print(f"{'segments':>8}  {'items':>6}  {'seconds':>7}  {'items/min':>10}  clean")
    print(f"{'-' * 8}  {'-' * 6}  {'-' * 7}  {'-' * 10}  -----")
    for rate in rates:
        print(
            f"{rate.segments:>8}  {rate.items:>6}  {rate.seconds:>7.2f}  {rate.items_per_minute:>10,.0f}  "
            f"{'yes' if rate.clean else 'NO'}"
        )
    print(
        f"The job's own work per item, without moto (Scan pages parsed by botocore, deserialised, checked): "
        f"{pace.items} items in {pace.seconds:.2f} s = {pace.items_per_minute:,.0f} items/min on one interpreter."
    )


def money_in_and_out(samples: int = PAYMENT_SAMPLES) -> None:
    """AWS calls per top-up, withdrawal request and decision, through RequestsFunction's handler."""
    with payments.World.embedded() as world:
        measured = payments.measure(world, samples)

    print(
        f"Money in and out: DynamoDB calls per top-up, withdrawal request and decision, through {payments.FUNCTION}'s"
    )
    print(f"handler in this process on embedded moto; {samples} samples of each. Counts only: no timings.")
    rules = ", ".join(
        f"{operation.value} {rule['percent']}% + {rule['fixed']}" for operation, rule in payments.RULES.items()
    )
    print(f"World: one issuer ({rules}), one bank, one funded coin; the template's")
    print(
        "default parameters. The coin's owner makes the requests; an administrator the top-ups at once and decisions."
    )
    print("A request starts the approval workflow (moto's Step Functions, in a background thread, its Lambda tasks")
    print("served by our handlers): only the calls of the thread invoking the API's handler are counted, so none of")
    print("the workflow's. A decision is made once the workflow has moved the request to PENDING.")
    print()
    for operation in measured:
        print(f"  {operation.name + ':':<27} {operation.request}")
    print()
    print("Calls per request, during the handler's invocation: DynamoDB's, and any other service's as other AWS calls")
    width = max(len("operation"), *(len(operation.name) for operation in measured))
    print(f"{'operation':<{width}}  {'writes':>6}  {'reads':>5}  {'other AWS':>9}  operations, all samples")
    print(f"{'-' * width}  {'-' * 6}  {'-' * 5}  {'-' * 9}  {'-' * 23}")
    for operation in measured:
        seen = _operations(operation.dynamodb_operations())
        if other := operation.other_operations():
            seen += "; " + _operations(other)
        print(
            f"{operation.name:<{width}}  {_spread(operation.writes):>6}  {_spread(operation.reads):>5}  "
            f"{_spread(operation.others):>9}  {seen}"
        )
    if any(max(operation.dynamodb_others) for operation in measured):
        print("Some DynamoDB calls were neither reads nor writes: they are listed, not in the writes or reads.")
    print("The token's signing key comes from Secrets Manager, cached by Powertools: fetched before the first sample.")


def _operations(operations: Mapping[str, int]) -> str:
    return ", ".join(f"{count} {name}" for name, count in sorted(operations.items()))


def _spread(values: Sequence[int]) -> str:
    """One figure when every posting made the same calls, else the range."""
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low}-{high}"


def _describe(item: tuple[str, str, str], hot: ledger.HotItems) -> str:
    table, pk, sk = item
    if pk in hot.customer_accounts:
        return f"a customer account's balance, {table} {pk} / {sk}"
    if pk.startswith("SYSTEM#") and sk == ledger.ACCOUNT_SORT_KEY:
        kind, shard = pk.split("#")[2:]
        return f"{kind} shard {shard}'s balance, {table} {pk} / {sk}"
    return f"{table} {pk} / {sk}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="measurements per figure (median)")
    arguments = parser.parse_args()
    if arguments.runs < 1:
        parser.error("--runs must be at least 1")
    cold_starts(arguments.runs)
    print()
    cold_start_instructions()
    print()
    ledger_costs()
    print()
    hot_account()
    print()
    transfer_costs()
    print()
    limits_and_refunds()
    print()
    money_in_and_out()
    print()
    reconciliation_rate()
    print()
    outbox.report(OUTBOX_SAMPLES)


if __name__ == "__main__":
    main()
