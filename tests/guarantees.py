"""The review's table of issue 14, re-run on demand: each money guarantee removed by one line must fail its
killer tests in every run. `make guarantees` (RUNS=3, ONLY=<words of a guarantee> for some rows) prints one
row per guarantee: its killers, the runs, and whether each run killed it.

Each mutant is applied to its own staged copy of the tree (the files git knows, untracked ones included), never
to the working tree. A mutant is killed when pytest reports failing tests (exit 1); a copy that cannot collect
or import (exit 2 and above) is an error, not a kill. The killers first run once on an unmutated copy: unless
they pass there, no row means anything.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUARANTEES = "tests/unit/test_money_guarantees.py"
RUN_TIMEOUT_SECONDS = 1800


@dataclass(frozen=True)
class Mutant:
    guarantee: str
    path: str
    original: str  # must occur exactly once in the file: a drifted source fails loudly, never silently survives
    mutated: str
    killers: tuple[str, ...]


MUTANTS = (
    Mutant(
        "the balance check in ledger._writes",
        "layers/wallet/wallet/ledger.py",
        "            if available < 0 or held < 0:\n",
        "            if False:\n",
        (f"{GUARANTEES}::test_two_spends_that_both_read_before_either_writes_spend_once",),
    ),
    Mutant(
        "the customer-account version guard (ledger_store)",
        "layers/wallet/wallet/ledger_store.py",
        '"SET available = :available, held = :held, version = :next",\n'
        '            "ConditionExpression": "version = :read",\n',
        '"SET available = :available, held = :held, version = :next",\n'
        '            "ConditionExpression": "attribute_exists(pk) OR version = :read",\n',
        (
            f"{GUARANTEES}::test_a_stale_read_that_could_cover_the_debit_is_read_again_not_written_over",
            f"{GUARANTEES}::test_two_spends_that_both_read_before_either_writes_spend_once",
        ),
    ),
    Mutant(
        "the one-time operation record (ledger_store)",
        "layers/wallet/wallet/ledger_store.py",
        '"sk": PROCESS},\n            "ConditionExpression": "attribute_not_exists(pk)",\n',
        '"sk": PROCESS},\n            "ConditionExpression": "attribute_exists(pk) OR attribute_not_exists(pk)",\n',
        ("tests/unit/test_ledger.py::test_the_same_business_process_posts_once",),
    ),
    Mutant(
        "commission rounded half-up -> half-even (commission)",
        "layers/wallet/wallet/commission.py",
        "    return round_half_up(raw, fractional_digits)\n",
        '    return raw.quantize(Decimal(10) ** -fractional_digits, rounding="ROUND_HALF_EVEN")\n',
        (
            f"{GUARANTEES}::test_a_transfer_charges_a_tied_commission_half_up",
            f"{GUARANTEES}::test_a_top_up_charges_a_tied_commission_half_up",
        ),
    ),
    Mutant(
        "the request-state condition #status = :expected (requests_store)",
        "layers/wallet/wallet/requests_store.py",
        '"ConditionExpression": "#status = :expected",',
        '"ConditionExpression": "attribute_exists(pk) OR #status = :expected",',
        (f"{GUARANTEES}::test_a_top_up_decided_from_a_stale_copy_is_refused",),
    ),
    Mutant(
        "the app-level PENDING check in payments.decide",
        "layers/wallet/wallet/payments.py",
        "    if request.status != RequestStatus.PENDING:\n",
        "    if False:\n",
        (f"{GUARANTEES}::test_a_decision_asked_again_after_it_applied_is_refused",),
    ),
    Mutant(
        "Idempotency-Key ignored by the staff top-up (payments)",
        "layers/wallet/wallet/payments.py",
        '    digest = fingerprint("top-up", body.model_dump(mode="json"))\n',
        '    digest, idempotency_key = fingerprint("top-up", body.model_dump(mode="json")), None\n',
        (f"{GUARANTEES}::test_a_staff_top_up_with_the_same_key_credits_once",),
    ),
    Mutant(
        "Idempotency-Key ignored by the top-up request (payments)",
        "layers/wallet/wallet/payments.py",
        '    digest = fingerprint("top-up-request", body.model_dump(mode="json"))\n',
        '    digest, idempotency_key = fingerprint("top-up-request", body.model_dump(mode="json")), None\n',
        ("tests/unit/test_payments.py::test_a_top_up_request_waits_for_its_workflow_with_what_screening_needs",),
    ),
    Mutant(
        "Idempotency-Key ignored by the withdrawal (payments)",
        "layers/wallet/wallet/payments.py",
        '    digest = fingerprint("withdrawal", body.model_dump(mode="json"))\n',
        '    digest, idempotency_key = fingerprint("withdrawal", body.model_dump(mode="json")), None\n',
        (f"{GUARANTEES}::test_a_withdrawal_with_the_same_key_holds_once",),
    ),
    Mutant(
        "Idempotency-Key ignored by the transfer (transfers)",
        "layers/wallet/wallet/transfers.py",
        'conflict."""\n    process_id = idempotency.operation_id(caller.organization_id, OperationType.TRANSFER.value, '
        "idempotency_key)",
        'conflict."""\n    process_id = idempotency.operation_id(caller.organization_id, OperationType.TRANSFER.value, '
        "None)",
        (f"{GUARANTEES}::test_a_transfer_with_the_same_key_moves_money_once",),
    ),
    Mutant(
        "Idempotency-Key ignored by the staff top-up route (handler)",
        "functions/requests/app.py",
        "payments.top_up_at_once(caller(app), body, idempotency_key)",
        "payments.top_up_at_once(caller(app), body, None)",
        ("tests/http/test_money_in_and_out.py::test_the_same_idempotency_key_creates_one_top_up[staff top-up]",),
    ),
    Mutant(
        "Idempotency-Key ignored by template execute (handler)",
        "functions/transfers/app.py",
        '    digest = fingerprint("template", template_id, request.model_dump(mode="json"))\n',
        '    digest, idempotency_key = fingerprint("template", template_id, request.model_dump(mode="json")), None\n',
        ("tests/http/test_transfers.py::test_the_same_idempotency_key_executes_a_template_once",),
    ),
    Mutant(
        "the key not scoped to the organisation (idempotency)",
        "layers/wallet/wallet/idempotency.py",
        'f"{organization_id}:{operation}:{idempotency_key}"',
        'f"{operation}:{idempotency_key}"',
        (
            f"{GUARANTEES}::test_the_same_key_from_two_organisations_names_two_operations",
            f"{GUARANTEES}::test_a_refund_key_is_each_organisations_own",
        ),
    ),
)


def stage(into: Path) -> Path:
    """A copy of the tree as git sees it (committed, changed and untracked files), sharing the virtualenv."""
    git = shutil.which("git") or "git"
    listed = subprocess.run(
        [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    (into / ".venv").symlink_to(ROOT / ".venv")
    return into


def mutate(tree: Path, mutant: Mutant) -> None:
    path = tree / mutant.path
    text = path.read_text()
    if text.count(mutant.original) != 1:
        raise SystemExit(f"{mutant.path}: the line of {mutant.guarantee!r} is not there once; update MUTANTS")
    path.write_text(text.replace(mutant.original, mutant.mutated))


def run_killers(tree: Path, killers: Sequence[str]) -> int:
    """pytest's exit code on the killers, stopping at the first failure (a timeout counts as an error)."""
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-p", "no:randomly", *killers]
    try:
        return subprocess.run(command, cwd=tree, capture_output=True, timeout=RUN_TIMEOUT_SECONDS).returncode
    except subprocess.TimeoutExpired:
        return -1


def verdict(code: int) -> str:
    return {0: "no", 1: "yes"}.get(code, f"error ({code})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs of each mutant's killers (default 3)")
    parser.add_argument(
        "--only", action="append", default=[], help="only the guarantees whose description contains this (repeatable)"
    )
    options = parser.parse_args(argv)
    wanted = [words.lower() for words in options.only] or [""]
    chosen = [mutant for mutant in MUTANTS if any(words in mutant.guarantee.lower() for words in wanted)]
    killed_everywhere = True
    with tempfile.TemporaryDirectory(prefix="guarantees-") as scratch:
        baseline = stage(Path(scratch) / "baseline")
        every_killer = sorted({killer for mutant in chosen for killer in mutant.killers})
        if (code := run_killers(baseline, every_killer)) != 0:
            print(f"The killers do not pass on the unmutated tree (pytest exit {code}): nothing to measure")
            return 1
        print(f"{'guarantee removed (one line)':<66}  {'runs':>4}  killed each run  killer test(s)")
        for index, mutant in enumerate(chosen):
            tree = stage(Path(scratch) / f"mutant-{index}")
            mutate(tree, mutant)
            verdicts = [verdict(run_killers(tree, mutant.killers)) for _ in range(options.runs)]
            killed_everywhere &= all(each == "yes" for each in verdicts)
            killers = ", ".join(killer.rsplit("::", 1)[-1] for killer in mutant.killers)
            print(f"{mutant.guarantee:<66}  {options.runs:>4}  {' / '.join(verdicts):<15}  {killers}", flush=True)
            shutil.rmtree(tree)
    return 0 if killed_everywhere else 1


if __name__ == "__main__":
    raise SystemExit(main())
