"""Mutation testing of the pure core modules, each against its own test files (`make mutation`).

For every module in MODULES this makes small changes to the code, one at a time (a comparison flipped
or turned strict, `and`/`or` swapped, a `not` dropped, `+`/`-` swapped, an integer moved by one,
`True`/`False` swapped, a string literal changed, a `break`/`continue` swapped, `None` returned
instead of a value, an `if`/`while` condition negated, the branches of `x if c else y` swapped, a call
statement dropped), and runs that module's own test files against each mutant in a
copy of generator/ (`pytest -x`). A mutant the tests still pass on "survived": a change no test notices.
Docstrings, annotations and the message text of `raise` are not mutated.

    python tools/mutation.py                      # every module
    python tools/mutation.py jsonpointer patches  # some of them
    python tools/mutation.py --tests tests/test_x.py jsonpointer   # other test files (a "before" figure)

mutmut (3.x) runs the whole test suite once and picks tests per function by coverage; this runner
keeps the rule "a module's own test files" explicit and runs without a configuration file.
Results: docs/development.md, "Mutation testing".
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "generator" / "mlgitops"

# module → (source file under generator/mlgitops, its own test files)
MODULES: dict[str, tuple[str, list[str]]] = {
    "jsonpointer": (
        "util/jsonpointer.py",
        ["tests/util/test_jsonpointer.py", "tests/render/test_conformance_json_patch.py"],
    ),
    "mergepatch": ("util/mergepatch.py", ["tests/util/test_merge_patch.py"]),
    # tests/render/test_patches.py renders whole projects (Kustomize): too slow to run per mutant
    "patches": (
        "render/patches.py",
        ["tests/render/test_patch_engine.py", "tests/render/test_conformance_json_patch.py"],
    ),
    "kubevalues": (
        "language/kubevalues.py",
        [
            "tests/language/test_kube_values.py",
            "tests/language/test_kube_value_bounds.py",
            "tests/language/test_kube_value_tables.py",
        ],
    ),
    "stepgraph": ("language/stepgraph.py", ["tests/language/test_stepgraph.py"]),
    "yamlio": (
        "util/yamlio.py",
        [
            "tests/util/test_yamlio.py",
            "tests/util/test_yaml_writer_fuzz.py",
        ],
    ),
    "gates": ("render/gates.py", ["tests/render/test_gates.py"]),
}
# Only these functions of a module are mutated (the rest of yamlio.py is the reader, not the writer).
SCOPES: dict[str, tuple[str, ...]] = {
    "yamlio": (
        "_quote",
        "_refuse",
        "unwritable_reason",
        "unwritable",
        "_scalar_text",
        "_string_text",
        "_literal",
        "_key_text",
    ),
}

_COMPARE_SWAPS: dict[type[ast.cmpop], list[type[ast.cmpop]]] = {
    ast.Eq: [ast.NotEq],
    ast.NotEq: [ast.Eq],
    ast.Lt: [ast.LtE, ast.Gt],
    ast.LtE: [ast.Lt, ast.GtE],
    ast.Gt: [ast.GtE, ast.Lt],
    ast.GtE: [ast.Gt, ast.LtE],
    ast.In: [ast.NotIn],
    ast.NotIn: [ast.In],
    ast.Is: [ast.IsNot],
    ast.IsNot: [ast.Is],
}
_BINOP_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.Div: ast.Mult,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
    ast.BitOr: ast.BitAnd,
    ast.BitAnd: ast.BitOr,
    ast.LShift: ast.RShift,
    ast.RShift: ast.LShift,
}


@dataclass(frozen=True)
class Mutant:
    index: int
    line: int
    what: str


def _skipped(tree: ast.AST) -> set[int]:
    """ids of the nodes never mutated: docstrings, annotations, the arguments of `raise`."""
    skip: set[int] = set()

    def all_of(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                all_of(body[0])
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            all_of(node.returns)
            for arg in [
                *node.args.args,
                *node.args.kwonlyargs,
                *node.args.posonlyargs,
                node.args.vararg,
                node.args.kwarg,
            ]:
                if arg is not None:
                    all_of(arg.annotation)
        if isinstance(node, ast.AnnAssign):
            all_of(node.annotation)
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            for message in node.exc.args:
                all_of(message)
        if isinstance(node, ast.JoinedStr):
            all_of(node)
    return skip


def _points(tree: ast.AST, only: tuple[str, ...] = ()) -> Iterator[tuple[ast.AST, int, str]]:
    """(node, variant, description) for every mutation of the tree (of its functions ONLY, if given), in a
    fixed order."""
    skip = _skipped(tree)
    scope = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name in only for n in ast.walk(f)}
    for node in ast.walk(tree):
        if id(node) in skip or (only and id(node) not in scope):
            continue
        if isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                for j, new in enumerate(_COMPARE_SWAPS.get(type(op), [])):
                    yield node, i * 10 + j, f"{type(op).__name__} -> {new.__name__}"
        elif isinstance(node, ast.BoolOp):
            yield node, 0, f"{type(node.op).__name__} -> {'Or' if isinstance(node.op, ast.And) else 'And'}"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            yield node, 0, "drop not"
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINOP_SWAPS:
            yield node, 0, f"{type(node.op).__name__} -> {_BINOP_SWAPS[type(node.op)].__name__}"
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, bool):
                yield node, 0, f"{node.value} -> {not node.value}"
            elif isinstance(node.value, int):
                yield node, 0, f"{node.value} -> {node.value + 1}"
            elif isinstance(node.value, str):
                yield node, 0, f"{node.value!r} -> {('XX' + node.value + 'XX')!r}"
        elif isinstance(node, (ast.Break, ast.Continue)):
            yield node, 0, "break <-> continue"
        elif isinstance(node, ast.IfExp):
            yield node, 0, "swap the branches of a conditional expression"
        elif isinstance(node, (ast.If, ast.While)):
            yield node, 0, "negate the condition"
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            yield node, 0, "drop the call statement"
        elif (
            isinstance(node, ast.Return)
            and node.value is not None
            and not (isinstance(node.value, ast.Constant) and node.value.value is None)
        ):
            yield node, 0, "return None"


def _apply(node: ast.AST, variant: int) -> ast.AST | None:
    """Mutate `node` in place; a replacement node for statements (break/continue)."""
    if isinstance(node, ast.Compare):
        i, j = divmod(variant, 10)
        node.ops[i] = _COMPARE_SWAPS[type(node.ops[i])][j]()
    elif isinstance(node, ast.BoolOp):
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif isinstance(node, ast.UnaryOp):
        return node.operand
    elif isinstance(node, ast.BinOp):
        node.op = _BINOP_SWAPS[type(node.op)]()
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool):
            node.value = not node.value
        elif isinstance(node.value, int):
            node.value = node.value + 1
        elif isinstance(node.value, str):
            node.value = "XX" + node.value + "XX"
    elif isinstance(node, ast.Break):
        return ast.Continue()
    elif isinstance(node, ast.Continue):
        return ast.Break()
    elif isinstance(node, ast.Return):
        node.value = ast.Constant(None)
    elif isinstance(node, ast.IfExp):
        node.body, node.orelse = node.orelse, node.body
    elif isinstance(node, (ast.If, ast.While)):
        node.test = ast.UnaryOp(ast.Not(), node.test)
    elif isinstance(node, ast.Expr):
        return ast.Pass()
    return None


class _Replace(ast.NodeTransformer):
    def __init__(self, target: ast.AST, replacement: ast.AST) -> None:
        self.target, self.replacement = target, replacement

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return self.replacement
        return super().generic_visit(node)


def mutants(source: str, only: tuple[str, ...] = ()) -> list[Mutant]:
    points = _points(ast.parse(source), only)
    return [Mutant(i, getattr(node, "lineno", 0), what) for i, (node, _, what) in enumerate(points)]


def mutate(source: str, index: int, only: tuple[str, ...] = ()) -> str:
    tree = ast.parse(source)
    node, variant, _ = list(_points(tree, only))[index]
    replacement = _apply(node, variant)
    if replacement is not None:
        tree = _Replace(node, replacement).visit(tree)
    return ast.unparse(ast.fix_missing_locations(tree))


def _pytest(copy: Path, tests: list[str], timeout: float) -> str:
    env = dict(os.environ, PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1", MLGITOPS_REQUIRE_ALL="0")
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--no-header", *tests]
    try:
        proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout"
    return "passed" if proc.returncode == 0 else "failed"


def run(name: str, tests: list[str], indices: set[int] | None = None) -> tuple[int, int, list[Mutant]]:
    """(mutants, killed, survivors) of module NAME against TESTS (only the mutants INDICES, if given)."""
    relative, _ = MODULES[name]
    only = SCOPES.get(name, ())
    source = (PACKAGE / relative).read_text()
    found = [m for m in mutants(source, only) if indices is None or m.index in indices]
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "generator"
        shutil.copytree(REPO / "generator", copy, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        start = time.monotonic()
        if _pytest(copy, tests, 1800) != "passed":
            raise SystemExit(f"{name}: the tests {tests} fail without any mutation")
        timeout = 3 * (time.monotonic() - start) + 30
        survivors = []
        for mutant in found:
            (copy / "mlgitops" / relative).write_text(mutate(source, mutant.index, only))
            if _pytest(copy, tests, timeout) == "passed":
                survivors.append(mutant)
                print(f"survived {relative}:{mutant.line}: #{mutant.index} {mutant.what}", flush=True)
        (copy / "mlgitops" / relative).write_text(source)
    return len(found), len(found) - len(survivors), survivors


def _indices(text: str) -> set[int]:
    """`3,17,400-450` → {3, 17, 400, ..., 450}."""
    found: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        found.update(range(int(first), int(last or first) + 1))
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help=f"default: all of them ({', '.join(MODULES)})")
    parser.add_argument("--tests", action="append", help="test files instead of the module's own")
    parser.add_argument("--list", action="store_true", help="list the mutants, run nothing")
    parser.add_argument("--mutants", help="only these mutants (#numbers and ranges, comma-separated: 3,17,400-450)")
    args = parser.parse_args(argv)
    unknown = set(args.modules) - set(MODULES)
    if unknown:
        parser.error(f"unknown modules {sorted(unknown)}: choose from {', '.join(MODULES)}")
    rows = []
    for name in args.modules or list(MODULES):
        if args.list:
            for m in mutants((PACKAGE / MODULES[name][0]).read_text(), SCOPES.get(name, ())):
                print(f"{name}:{m.line}: #{m.index} {m.what}")
            continue
        tests = args.tests or MODULES[name][1]
        indices = _indices(args.mutants) if args.mutants else None
        total, killed, survivors = run(name, tests, indices)
        score = 100 * killed / total if total else 100.0
        rows.append(f"{name:12} {total:5} mutants {killed:5} killed {len(survivors):5} survived  {score:5.1f} %")
        print(rows[-1], flush=True)
    if rows:
        print("\n".join(["", "module       mutants, killed, survived, score (own test files)", *rows]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
