"""`make mutation`: mutmut 2 over the modules that decide who gets in, each against the fastest
test subset that kills its mutants; the last line printed is the score.

mutmut 2 (not 3) on purpose: it mutates the source file in place, so the editable install of the
layer (layers/shared/apitokens is the package `apitokens`) runs each mutant without a copied tree;
mutmut 3 needs a src/ layout. It lives in its own venv (.venv-mutation, built by the Makefile);
the tests run with the project's .venv. Modules run one after the other (a mutant is a change to
the shared source tree: two at once would see each other's mutants).

    .venv/bin/python -m tests.mutation.run                 # the default set (MODULES below)
    .venv/bin/python -m tests.mutation.run --all           # every named module (longer, see docs)
    .venv/bin/python -m tests.mutation.run policy scopes   # some of them
    .venv/bin/python -m tests.mutation.run lineage         # a group: keys, rules, leaks, conditions

Surviving mutants listed in mutation-equivalents.txt (file :: original line :: mutated line ::
reason) are equivalent: they leave the score's denominator. Any other survivor is printed.
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MUTMUT = ROOT / ".venv-mutation" / "bin" / "mutmut"
PYTHON = ROOT / ".venv" / "bin" / "python"
CACHE = ROOT / ".mutmut-cache"
LINES_PATCH = ROOT / ".mutmut-lines.patch"
EQUIVALENTS = ROOT / "mutation-equivalents.txt"
LAYER = "layers/shared/apitokens"
GOAL = 95.0


@dataclass(frozen=True)
class Target:
    name: str
    sources: tuple[str, ...]
    tests: tuple[str, ...]
    # The line numbers to mutate, from a source's text; None: every line.
    lines: Callable[[str], set[int]] | None = None


# The store's conditions (`conditions`): mutating all of the store's modules against moto takes
# hours, and most of their lines build items and queries that other tests check. These are the
# lines that decide: the helpers whose every line is a decision (the transaction and its
# cancellation reasons, the count's limit condition, a deactivation, the cascade's transaction
# sizes, a new token's writes with its creator guard, the ancestor chain a move or a roll by a
# token checks and its conditions), and, anywhere after the item builders
# (items.py's token_item and lookup_item; in the other modules, everywhere), a line that names a
# condition or the state a condition guards (active, revoked, children,
# rolled, released slot, count, limit, the digest that tells a re-created token apart). Audit
# documents' lines are left out (the audit tests cover them: _audit_lines). Chosen from the text
# at run time, so it follows the module's edits.
CONDITION_HELPERS = frozenset(
    {
        "transact",
        "_named_failure",
        "still_exists",
        "cancellation_codes",
        "count_increment",
        "deactivation",
        "new_token_writes",
        "creator_guard",
        "parents_unchanged",
        "ancestor_chain",
        "fits_one_transaction",
        "cascade_batches",
        "copy_updates",
    }
)
CONDITION_WORDS = re.compile(
    r"Condition|condition|[Aa]ctive|[Rr]evoked|hasChildren|rolledTo|slotReleased|tokenCount|max_tokens|"
    r":limit|:digest|:leaked|released|first_failed|failed_at|LEAKED|"
    # The lineage's reach: a roll's pending move, every page of children and of a BatchGetItem,
    # a token's parent and (for the creator guard and the grace period) its expiry.
    r"[Mm]oving|UnprocessedKeys|LastEvaluatedKey|ExclusiveStartKey|parentSid|expiresAt"
)
NOT_CONDITIONS = re.compile(r"audit\.|KeyConditionExpression|^\s*#")


def _body_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> range:
    """The lines of a function's statements, its docstring left out."""
    body = function.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return range(body[0].lineno, (function.end_lineno or 0) + 1)


def condition_lines(text: str) -> set[int]:
    tree = ast.parse(text)
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    selected = {
        number for function in functions if function.name in CONDITION_HELPERS for number in _body_lines(function)
    }
    builders_end = max((f.end_lineno or 0 for f in functions if f.name in ("token_item", "lookup_item")), default=0)
    in_functions = {number for function in functions for number in _body_lines(function)}
    selected |= {
        number
        for number, line in enumerate(text.splitlines(), start=1)
        if number > builders_end and number in in_functions
        if CONDITION_WORDS.search(line) and not NOT_CONDITIONS.search(line)
    }
    return selected - _audit_lines(tree)


# service.py's functions that only read (list, get, audit events, usage): the rest decide who may
# create, change, delete or roll a token, and what a new token's lineage and expiry are.
SERVICE_READS = frozenset({"list_tokens", "get_token", "list_audit_events", "token_usage"})


def rule_lines(text: str) -> set[int]:
    """The lines of service.py's deciding functions (every one but SERVICE_READS, so a rule
    added later is mutated too), nested functions included."""
    tree = ast.parse(text)
    return {
        number
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name not in SERVICE_READS
        for number in _body_lines(node)
    }


# The names an audit document is built in (its changes, its type): their statements are audit.
AUDIT_NAMES = frozenset({"changes", "rolled_changes", "moved_parent", "event_type", "document", "events", "reason"})


def _audit_lines(tree: ast.AST) -> set[int]:
    """Lines of statements that only build an audit document: assignments to AUDIT_NAMES (a
    subscript of one too), and the `if`s whose every statement is one."""

    def is_audit(statement: ast.stmt) -> bool:
        if isinstance(statement, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names = {(t.value if isinstance(t, ast.Subscript) else t) for t in targets}
            return all(isinstance(name, ast.Name) and name.id in AUDIT_NAMES for name in names)
        if isinstance(statement, ast.If):
            return all(is_audit(inner) for inner in [*statement.body, *statement.orelse])
        return False

    return {
        number
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt) and is_audit(node)
        for number in range(node.lineno, (node.end_lineno or node.lineno) + 1)
    }


def lines_patch(source: str, lines: set[int]) -> str:
    """A unified diff that adds exactly `lines` of `source` (the rest as context): mutmut's
    --use-patch-file then mutates those lines only, and the file itself stays untouched."""
    text = (ROOT / source).read_text(encoding="utf-8").splitlines()
    body = [("+" if number in lines else " ") + line for number, line in enumerate(text, start=1)]
    header = (
        f"--- {source}\n+++ {source}\n@@ -1,{len(text) - len(lines & set(range(1, len(text) + 1)))} +1,{len(text)} @@\n"
    )
    return header + "\n".join(body) + "\n"


JWT_TESTS = (
    "tests/unit/test_jwt_algorithm_pinning.py",
    "tests/unit/test_jwks_client_settings.py",
    "tests/unit/test_audience_claim.py",
    "tests/unit/test_absent_scope_claim.py",
    "tests/unit/test_jwt.py",
    "tests/unit/test_idp_claims.py",
)
# The unit tests first: with -x, most mutants die there without moto's start-up.
AUTHORIZER_TESTS = ("tests/unit/test_authorizer_core.py", "tests/integration/test_expiry_boundary.py")
POLICY_TESTS = (
    "tests/unit/test_policy_answers.py",
    "tests/unit/test_policy.py",
    "tests/unit/test_iam.py",
    "tests/unit/test_catalog.py",
)
# The fast tests of the conditions first (the repository called directly), then the handlers'
# (the two cascades of 50+ tokens, a minute each on moto, are left to `make test`).
CONDITIONS_TESTS = (
    "tests/unit/test_cascade_batches.py",
    "tests/integration/test_repository_conditions.py",
    "tests/integration/test_cascade_reads.py",
    "tests/integration/test_self_roll_lineage.py",
    "tests/integration/test_lineage_forest.py",
    "tests/integration/test_creator_and_delete_bounds.py",
    "tests/integration/test_lookup_copies_audit.py",
    "tests/integration/test_lookup_copies.py",
    "tests/integration/test_lineage_and_roll.py",
    "tests/reliability/test_roll_move_faults.py",
    "--deselect=tests/integration/test_lineage_and_roll.py::test_a_cascade_larger_than_one_transaction",
    "--deselect=tests/integration/test_lineage_and_roll.py::test_a_cascade_that_fails_between_batches_is_finished_by_a_retry",
)
# The store's modules, which TokenRepository is composed of (items and driver, then the parts).
STORE_SOURCES = tuple(
    f"{LAYER}/store/{module}.py"
    for module in ("items", "driver", "table", "credentials", "lineage", "rolls", "tokens", "repository")
)
REPOSITORY_TESTS = (
    "tests/unit/test_rules.py",
    "tests/integration/test_token_operations.py",
    "tests/integration/test_lineage_and_roll.py",
    "tests/integration/test_idempotency.py",
)

# The lineage and roll rules of service.py, fastest first; the two long cascades as above.
RULES_TESTS = (
    "tests/integration/test_update_bounds.py",
    "tests/integration/test_roll_rules.py",
    "tests/integration/test_self_roll_lineage.py",
    "tests/integration/test_lineage_and_roll.py",
    "tests/integration/test_token_operations.py",
    *CONDITIONS_TESTS[-2:],
)
KEYS_TESTS = (
    "tests/unit/test_key_layout.py",
    "tests/unit/test_lineage_keys.py",
    "tests/integration/test_cascade_reads.py",
    "tests/integration/test_audit_origin.py",
)

TARGETS = {
    target.name: target
    for target in (
        Target(
            "tokens",
            (f"{LAYER}/domain/tokens.py", f"{LAYER}/domain/base62.py"),
            ("tests/unit/test_token_format_edges.py", "tests/unit/test_token_format.py"),
        ),
        Target("jwt_auth", (f"{LAYER}/auth/jwt_auth.py",), JWT_TESTS),
        Target("authorizer", (f"{LAYER}/auth/authorizer.py",), AUTHORIZER_TESTS),
        Target("principal", (f"{LAYER}/domain/principal.py",), ("tests/unit/test_principal_context.py", *POLICY_TESTS)),
        Target("policy", (f"{LAYER}/auth/policy.py",), POLICY_TESTS),
        Target("scopes", (f"{LAYER}/domain/scopes.py",), ("tests/unit/test_route_catalog_edges.py", *POLICY_TESTS)),
        Target(
            "leaks",
            (f"{LAYER}/rules/leaks.py",),
            (
                "tests/unit/test_github_keys.py",
                "tests/integration/test_leak_environments.py",
                "tests/integration/test_leak_reports.py",
            ),
        ),
        # The single table's key layout: every builder, against the layout's own tests first.
        Target("keys", (f"{LAYER}/store/keys.py",), KEYS_TESTS),
        # Who may create, change, delete or roll a token (the deciding functions of service.py).
        Target("rules", (f"{LAYER}/rules/service.py",), RULES_TESTS, rule_lines),
        # The store's conditions (revocation, limit, no resurrection, lineage and cascade): the
        # deciding lines of its modules only (condition_lines).
        Target("conditions", STORE_SOURCES, CONDITIONS_TESTS, condition_lines),
        # All of the store's code (1,300 lines): hours on two cores (docs/reliability.md).
        Target("repository", STORE_SOURCES, REPOSITORY_TESTS),
        Target("service", (f"{LAYER}/rules/service.py", f"{LAYER}/domain/changes.py"), REPOSITORY_TESTS),
    )
}
# What `make mutation` runs by default: fits about 25 minutes on a shared two-core machine.
MODULES = ("tokens", "jwt_auth", "authorizer", "principal")
# The lineage, roll and leak code (`make mutation MUTATION_ARGS=lineage`): the key layout, the
# rules of service.py, leak reports and the store's conditions (the creator guard is one).
GROUPS = {"lineage": ("keys", "rules", "leaks", "conditions")}


def run_target(target: Target, only: dict[str, set[int]] | None = None) -> None:
    """mutmut over the target's sources; `only`: just these lines of each (--survivors)."""
    runner = f"{PYTHON} -m tests.mutation.runner -x -q -p no:cacheprovider {' '.join(target.tests)}"
    for source in target.sources:
        started = time.monotonic()
        command = [str(MUTMUT), "run", "--paths-to-mutate", source, "--runner", runner, "--no-progress", "--CI"]
        lines = None if target.lines is None else target.lines((ROOT / source).read_text(encoding="utf-8"))
        if only is not None:
            lines = only.get(source, set()) & (lines if lines is not None else only.get(source, set()))
            if not lines:
                continue
        if lines is not None:
            LINES_PATCH.write_text(lines_patch(source, lines))
            command += ["--use-patch-file", str(LINES_PATCH)]
        try:
            subprocess.run(
                command,
                cwd=ROOT,
                check=False,  # mutmut's exit status encodes survivors: the score below says it all
                stdout=subprocess.DEVNULL,
            )
        finally:
            LINES_PATCH.unlink(missing_ok=True)
        print(f"{source}: {time.monotonic() - started:.0f} s", flush=True)


def equivalents() -> set[tuple[str, str, str]]:
    listed = set()
    for raw in EQUIVALENTS.read_text().splitlines():
        if raw.strip() and not raw.startswith("#"):
            path, original, mutated, _reason = (part.strip() for part in raw.split(" :: ", 3))
            listed.add((path, original, mutated))
    return listed


def diff_of(mutant_id: int) -> tuple[str, str]:
    command = [str(MUTMUT), "show", str(mutant_id)]
    shown = subprocess.run(command, check=True, cwd=ROOT, capture_output=True, text=True).stdout
    removed = [line[1:].strip() for line in shown.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line[1:].strip() for line in shown.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return " ".join(removed), " ".join(added)


def survivor_lines(sources: list[str]) -> dict[str, set[int]]:
    """The lines (1-based) of the last run's survivors that mutation-equivalents.txt does not list."""
    with sqlite3.connect(CACHE) as db:
        rows = db.execute(
            "SELECT m.id, s.filename, l.line_number FROM Mutant m JOIN Line l ON m.line = l.id "
            "JOIN SourceFile s ON l.sourcefile = s.id WHERE m.status = 'bad_survived'"
        ).fetchall()
    listed = equivalents()
    lines: dict[str, set[int]] = {}
    for mutant_id, filename, line_number in rows:
        if filename in sources and (filename, *diff_of(mutant_id)) not in listed:
            lines.setdefault(filename, set()).add(line_number + 1)
    return lines


def score(sources: list[str]) -> float:
    with sqlite3.connect(CACHE) as db:
        rows = db.execute(
            "SELECT m.id, s.filename, l.line_number, m.status FROM Mutant m JOIN Line l ON m.line = l.id "
            "JOIN SourceFile s ON l.sourcefile = s.id ORDER BY s.filename, l.line_number, m.'index'"
        ).fetchall()
    listed = equivalents()
    counts = {"killed": 0, "timeout": 0, "equivalent": 0, "survived": 0, "untested": 0}
    for mutant_id, filename, line_number, status in rows:
        if filename not in sources:
            continue
        if status in ("ok_killed", "ok_suspicious"):
            counts["killed"] += 1
        elif status == "bad_timeout":
            counts["timeout"] += 1  # the mutant hangs the tests: detected
        elif status == "bad_survived":
            original, mutated = diff_of(mutant_id)
            if (filename, original, mutated) in listed:
                counts["equivalent"] += 1
            else:
                counts["survived"] += 1
                print(f"SURVIVED {filename}:{line_number + 1} (mutmut show {mutant_id})\n  - {original}\n  + {mutated}")
        else:
            counts["untested"] += 1
    total = sum(counts.values()) - counts["equivalent"]
    detected = counts["killed"] + counts["timeout"]
    percent = 100.0 * detected / total if total else 100.0
    print(
        f"mutation score: {percent:.1f}% ({detected} of {total} non-equivalent mutants killed"
        f"{', ' + str(counts['timeout']) + ' by timeout' if counts['timeout'] else ''}; "
        f"{counts['survived']} survived, {counts['equivalent']} equivalent, {counts['untested']} untested; "
        f"goal {GOAL:.0f}%) over {', '.join(Path(source).name for source in sources)}"
    )
    return percent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("modules", nargs="*", help=f"of {', '.join([*TARGETS, *GROUPS])}; default: {' '.join(MODULES)}")
    parser.add_argument("--all", action="store_true", help="every module of TARGETS")
    parser.add_argument("--score-only", action="store_true", help="score the last run's cache, run nothing")
    parser.add_argument(
        "--survivors",
        action="store_true",
        help="rerun only the lines of the last run's unlisted survivors against the current tests (keeps the cache)",
    )
    arguments = parser.parse_args()
    names = list(TARGETS) if arguments.all else arguments.modules or list(MODULES)
    names = [name for given in names for name in GROUPS.get(given, (given,))]
    if unknown := sorted(set(names) - set(TARGETS)):
        parser.error(f"unknown module(s): {', '.join(unknown)}")
    targets = [TARGETS[name] for name in names]
    sources = [source for target in targets for source in target.sources]
    if not arguments.score_only:
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # killed: the finally restores
        # --survivors: killed mutants stay killed in the cache (mutmut keeps them); survivors'
        # lines run again, so the score is the whole module's with the new tests.
        only = survivor_lines(sources) if arguments.survivors and CACHE.exists() else None
        if only is None:
            CACHE.unlink(missing_ok=True)
        originals = {source: (ROOT / source).read_bytes() for source in sources}
        started = time.monotonic()
        try:
            for target in targets:
                run_target(target, only)
        finally:
            # mutmut restores each file after each mutant; an interrupted run must not leave one.
            for source, content in originals.items():
                if (ROOT / source).read_bytes() != content:
                    (ROOT / source).write_bytes(content)
                (ROOT / f"{source}.bak").unlink(missing_ok=True)
            shutil.rmtree(ROOT / "html", ignore_errors=True)
        print(f"run time: {time.monotonic() - started:.0f} s", flush=True)
    return 0 if score(sources) >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
