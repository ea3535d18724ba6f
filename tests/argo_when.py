"""A small, faithful model of how Argo Workflows v4.1 evaluates a DAG task's `when` and expression tags,
for the parts mlgitops relies on. There is no Go here, so each step mirrors the upstream code it names:

1. `workflow/controller/dag.go` `resolveDependencyReferences`: the `when` string is JSON-encoded with Go's
   `json.Marshal` (which escapes `<`, `>`, `&` as `\\u003c`, `\\u003e`, `\\u0026`), its `{{...}}` tags
   are replaced (`util/template/template.go`, fasttemplate: a tag runs from `{{` to the next `}}`), and
   the result is JSON-decoded.
2. A tag starting with `=` is an expr expression (`util/template/kind.go` `parseTag` undoes the three
   escapes, `expression_template.go` JSON-decodes it, runs it with expr-lang/expr v1.17 in the
   environment of `util/expr/env/env.go` `GetFuncMap`: flat `a.b.c` keys expanded to nested maps, plus
   `asInt`, `asFloat`, `jsonpath`, `toJson`, `sprig`; expr's builtins such as `trim` are always there),
   and JSON-encodes the result (a string's quotes are dropped). Any other tag is a plain substitution.
3. `workflow/controller/steps.go` `shouldExecute` parses the result with govaluate
   (Knetic/govaluate `7625b7f`, the commit Argo pins): `parsing.go` `readToken` (numbers are digits and
   `.` only), then `lexerState.go` `checkExpressionSyntax` (which token may follow which). A `when` that
   fails here makes the task Error, so `register` errors on every run.

The expr model covers the grammar the renderer writes: float and integer literals (a literal without `.`
or `e` is an int64, `parser/parser.go`), single-quoted strings, `tasks['x'].outputs.parameters['y']`
member access, calls, unary `!` and `-`, `+` (numbers or strings), comparisons, `&&`, `||`, `? :`.
`asFloat` of a string is Go's `strconv.ParseFloat` (expr `builtin/lib.go` `Float`): no blanks, no `_`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

ENV_FUNCTIONS = frozenset({"asInt", "asFloat", "jsonpath", "toJson", "sprig"})  # util/expr/env/env.go
EXPR_BUILTINS = frozenset({"trim", "float", "int", "string", "len", "lower", "upper"})  # the ones modelled here


class ArgoError(Exception):
    """What Argo would report as an error for the task."""


# --- step 1: Go's json.Marshal of a string, and fasttemplate tag replacement -------------------------


def go_json_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _fix(tag: str) -> str:  # util/json/fix.go
    return tag.replace("\\u003c", "<").replace("\\u003e", ">").replace("\\u0026", "&")


def replace_tags(encoded: str, params: dict[str, str]) -> str:
    out: list[str] = []
    rest = encoded
    while "{{" in rest:
        head, _, tail = rest.partition("{{")
        tag, sep, rest = tail.partition("}}")
        if not sep:
            raise ArgoError("unclosed tag")
        out.append(head)
        if tag.startswith("="):
            expression = json.loads(f'"{_fix(tag[1:])}"')
            result = evaluate(expression, params)
            marshalled = json.dumps(result) if not isinstance(result, str) else go_json_string(result)[1:-1]
            out.append(marshalled)
        else:
            name = tag.strip()
            if name not in params:
                raise ArgoError(f"failed to resolve {{{{{name}}}}}")
            out.append(go_json_string(params[name])[1:-1])
    out.append(rest)
    return "".join(out)


def resolve_when(when: str, params: dict[str, str]) -> str:
    """The string `shouldExecute` receives for this `when`."""
    decoded: str = json.loads(replace_tags(go_json_string(when), params))
    return decoded


def should_execute(when: str, params: dict[str, str]) -> bool:
    """Argo's decision for a DAG task: True (run), False (Skipped); ArgoError: the task errors."""
    resolved = resolve_when(when, params)
    tokens = govaluate_tokens(resolved)
    check_govaluate_syntax(tokens)
    if [kind for kind, _ in tokens] == ["BOOLEAN"]:
        return bool(tokens[0][1])
    raise AssertionError(f"the model only evaluates a lone boolean, got {resolved!r}")


def executor_output(file_contents: str) -> str:
    """An output parameter read from a file (workflow/executor/executor.go: one trailing newline trimmed)."""
    return file_contents.removesuffix("\n")


# --- step 3: govaluate's lexer and syntax check -----------------------------------------------------

_PREFIX = {"-", "!", "~"}
_MODIFIER = {"+", "-", "*", "/", "%", "**", "&", "|", "^", ">>", "<<"}
_LOGICAL = {"&&", "||"}
_COMPARATOR = {"==", "!=", ">", ">=", "<", "<=", "=~", "!~", "in"}
_TERNARY = {"?", ":", "??"}
_VALUE_NEXT = {"MODIFIER", "COMPARATOR", "LOGICALOP", "CLAUSE_CLOSE", "TERNARY", "SEPARATOR"}
_OPERAND = {"PREFIX", "NUMERIC", "BOOLEAN", "VARIABLE", "FUNCTION", "ACCESSOR", "STRING", "TIME", "CLAUSE"}
# lexerState.go validLexerStates: kind -> (valid next kinds, may end the expression)
_STATES: dict[str, tuple[set[str], bool]] = {
    "START": (_OPERAND | {"PATTERN"}, False),
    "CLAUSE": (_OPERAND | {"PATTERN", "CLAUSE_CLOSE"}, False),
    "CLAUSE_CLOSE": (
        {"COMPARATOR", "MODIFIER", "NUMERIC", "BOOLEAN", "VARIABLE", "STRING", "PATTERN", "TIME", "CLAUSE"}
        | {"CLAUSE_CLOSE", "LOGICALOP", "TERNARY", "SEPARATOR"},
        True,
    ),
    "NUMERIC": (_VALUE_NEXT, True),
    "BOOLEAN": (_VALUE_NEXT, True),
    "STRING": (_VALUE_NEXT, True),
    "VARIABLE": (_VALUE_NEXT, True),
    "MODIFIER": (_OPERAND - {"TIME"} | {"CLAUSE_CLOSE"}, False),
    "COMPARATOR": (_OPERAND | {"CLAUSE_CLOSE", "PATTERN"}, False),
    "LOGICALOP": (_OPERAND | {"CLAUSE_CLOSE"}, False),
    "PREFIX": ({"NUMERIC", "BOOLEAN", "VARIABLE", "FUNCTION", "ACCESSOR", "CLAUSE", "CLAUSE_CLOSE"}, False),
    "TERNARY": (_OPERAND | {"SEPARATOR"}, False),
    "ACCESSOR": ({"CLAUSE"} | _VALUE_NEXT, True),
    "SEPARATOR": (_OPERAND, False),
}


def _is_numeric(c: str) -> bool:
    return c.isdigit() or c == "."


def govaluate_tokens(expression: str) -> list[tuple[str, Any]]:
    """parsing.go readToken for the token kinds a `when` can hold (no functions are registered)."""
    tokens: list[tuple[str, Any]] = []
    i, n = 0, len(expression)
    state = "START"
    while i < n:
        c = expression[i]
        if c.isspace():
            i += 1
            continue
        if _is_numeric(c):
            j = i
            while j < n and _is_numeric(expression[j]):
                j += 1
            text = expression[i:j]
            try:
                value: Any = float(text)
            except ValueError:
                raise ArgoError(f"Unable to parse numeric value '{text}' to float64") from None
            token: tuple[str, Any] = ("NUMERIC", value)
            i = j
        elif c == ",":
            token, i = ("SEPARATOR", ","), i + 1
        elif c == "[":
            j = expression.find("]", i)
            if j < 0:
                raise ArgoError("Unclosed parameter bracket")
            token, i = ("VARIABLE", expression[i + 1 : j]), j + 1
        elif c.isalpha():
            j = i
            while j < n and (expression[j].isalnum() or expression[j] in "_."):
                j += 1
            word = expression[i:j]
            i = j
            if word in ("true", "false"):
                token = ("BOOLEAN", word == "true")
            elif word in ("in", "IN"):
                token = ("COMPARATOR", "in")
            elif "." in word:
                token = ("ACCESSOR", word)
            else:
                token = ("VARIABLE", word)
        elif c in "'\"":
            j = i + 1
            while j < n and expression[j] not in "'\"":
                j += 1
            if j >= n:
                raise ArgoError("Unclosed string literal")
            token, i = ("STRING", expression[i + 1 : j]), j + 1
        elif c == "(":
            token, i = ("CLAUSE", c), i + 1
        elif c == ")":
            token, i = ("CLAUSE_CLOSE", c), i + 1
        else:
            j = i
            while j < n and not (expression[j].isalnum() or expression[j] in "()[]'\"" or expression[j].isspace()):
                j += 1
            symbol = expression[i:j]
            i = j
            if symbol in _PREFIX and "PREFIX" in _STATES[state][0]:
                token = ("PREFIX", symbol)
            elif symbol in _MODIFIER:
                token = ("MODIFIER", symbol)
            elif symbol in _LOGICAL:
                token = ("LOGICALOP", symbol)
            elif symbol in _COMPARATOR:
                token = ("COMPARATOR", symbol)
            elif symbol in _TERNARY:
                token = ("TERNARY", symbol)
            else:
                raise ArgoError(f"Invalid token: '{symbol}'")
        tokens.append(token)
        state = token[0]
    return tokens


def check_govaluate_syntax(tokens: list[tuple[str, Any]]) -> None:
    """lexerState.go checkExpressionSyntax."""
    state, last = "START", None
    for kind, value in tokens:
        if kind not in _STATES[state][0]:
            raise ArgoError(f"Cannot transition token types from {state} [{last}] to {kind} [{value}]")
        state, last = kind, value
    if not _STATES[state][1]:
        raise ArgoError("Unexpected end of expression")


# --- step 2: the expr subset ---------------------------------------------------------------------

_EXPR_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|'(?P<string>(?:[^'\\]|\\.)*)'"
    r"|(?P<name>[A-Za-z_$][A-Za-z0-9_$]*)"
    r"|(?P<op>&&|\|\||==|!=|>=|<=|\?\?|[-+*/%<>!?:()\[\].,]))"
)
# expr's lexer unescapes a quoted string's Go-style escapes (`lexer/utils.go` `unescape`); the builders
# write only escaped backslashes and quotes, and the model refuses any other escape rather than guess it.
_EXPR_ESCAPES = {"\\\\": "\\", "\\'": "'", '\\"': '"'}


def _expr_unescape(body: str) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group(0) not in _EXPR_ESCAPES:
            raise ArgoError(f"escape {m.group(0)!r} is not modelled")
        return _EXPR_ESCAPES[m.group(0)]

    return re.sub(r"\\.", one, body)


_GO_FLOAT = re.compile(r"^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$", re.IGNORECASE)


def go_parse_float(text: str) -> float:
    """strconv.ParseFloat(text, 64) for decimal input (hex floats are not needed here)."""
    if not _GO_FLOAT.match(text):
        raise ArgoError(f"invalid operation: float({text})")
    value = float(text)
    if math.isinf(value) and "inf" not in text.lower():
        raise ArgoError(f"invalid operation: float({text})")  # ErrRange
    return value


def _go_trim_space(text: str) -> str:
    return text.strip(" \t\n\v\f\r\x85\xa0")


def _builtin(name: str) -> Callable[..., Any]:
    def as_float(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ArgoError(f"invalid operation: float({type(value).__name__})")
        return go_parse_float(value) if isinstance(value, str) else float(value)

    def trim(value: Any, cutset: Any = None) -> str:
        if not isinstance(value, str):
            raise ArgoError("trim of a non-string")
        return _go_trim_space(value) if cutset is None else value.strip(str(cutset))

    table: dict[str, Callable[..., Any]] = {"asFloat": as_float, "float": as_float, "trim": trim}
    if name not in table:
        raise AssertionError(f"function {name!r} is not modelled")
    return table[name]


def _expand(params: dict[str, str]) -> dict[str, Any]:
    """util/expand.Expand: `a.b.c` keys become nested maps."""
    root: dict[str, Any] = {}
    for key, value in params.items():
        node = root
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return root


class _Parser:
    def __init__(self, text: str, env: dict[str, Any]) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _EXPR_TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise ArgoError(f"expr syntax error at {text[pos:]!r}")
            kind = m.lastgroup
            assert kind is not None
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0
        self.env = env
        self.calls: list[str] = []

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, op: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (op is not None and token != ("op", op)):
            raise ArgoError(f"expr syntax error: expected {op!r}, got {token!r}")
        self.i += 1
        return token

    def at(self, op: str) -> bool:
        return self.peek() == ("op", op)

    def parse(self) -> Any:
        value = self.ternary()
        if self.peek() is not None:
            raise ArgoError(f"expr syntax error: unexpected {self.peek()!r}")
        return value

    def ternary(self) -> Any:
        cond = self.or_()
        if self.at("?"):
            self.take("?")
            yes = self.ternary()
            self.take(":")
            no = self.ternary()
            if not isinstance(cond, bool):
                raise ArgoError("non-bool condition in ternary")
            return yes if cond else no
        return cond

    def or_(self) -> Any:
        left = self.and_()
        while self.at("||"):
            self.take()
            right = self.and_()
            left = self._bools(left, right) and (left or right)
        return left

    def and_(self) -> Any:
        left = self.comparison()
        while self.at("&&"):
            self.take()
            right = self.comparison()
            left = self._bools(left, right) and (left and right)
        return left

    @staticmethod
    def _bools(*values: Any) -> bool:
        if not all(isinstance(v, bool) for v in values):
            raise ArgoError("invalid operation: logical operator on non-bool")
        return True

    def comparison(self) -> Any:
        left = self.additive()
        token = self.peek()
        if token is not None and token[0] == "op" and token[1] in ("==", "!=", ">=", "<=", ">", "<"):
            self.take()
            right = self.additive()
            op = token[1]
            if op in ("==", "!="):
                return (left == right) == (op == "==")
            numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right))
            if not numbers:
                raise ArgoError(f"invalid operation: {op} between {type(left).__name__} and {type(right).__name__}")
            return {">=": left >= right, "<=": left <= right, ">": left > right, "<": left < right}[op]
        return left

    def additive(self) -> Any:
        left = self.unary()
        while self.at("+") or self.at("-"):
            op = self.take()[1]
            right = self.unary()
            both_str = isinstance(left, str) and isinstance(right, str)
            both_num = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right))
            if op == "+" and both_str:
                left = left + right
            elif both_num:
                left = left + right if op == "+" else left - right
            else:
                raise ArgoError(f"invalid operation: {type(left).__name__} {op} {type(right).__name__}")
        return left

    def unary(self) -> Any:
        if self.at("!"):
            self.take()
            value = self.unary()
            if not isinstance(value, bool):
                raise ArgoError("invalid operation: ! on non-bool")
            return not value
        if self.at("-"):
            self.take()
            value = self.unary()
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ArgoError("invalid operation: - on non-number")
            return -value
        return self.postfix()

    def postfix(self) -> Any:
        kind, text = self.take()
        value: Any
        if kind == "number":
            clean = text.replace("_", "")
            if "." in clean or "e" in clean.lower():
                value = float(clean)
            else:
                value = int(clean)
                if not -(2**63) <= value < 2**63:
                    raise ArgoError(f"invalid integer literal: {text}")
        elif kind == "string":
            value = _expr_unescape(text)
        elif kind == "name":
            if self.at("("):
                self.calls.append(text)
                self.take("(")
                args = []
                while not self.at(")"):
                    args.append(self.ternary())
                    if not self.at(")"):
                        self.take(",")
                self.take(")")
                return self._postfix_tail(_builtin(text)(*args))
            if text not in self.env:
                raise ArgoError(f"unknown name {text}")
            value = self.env[text]
        elif (kind, text) == ("op", "("):
            value = self.ternary()
            self.take(")")
        else:
            raise ArgoError(f"expr syntax error at {text!r}")
        return self._postfix_tail(value)

    def _postfix_tail(self, value: Any) -> Any:
        while self.at("[") or self.at("."):
            if self.at("["):
                self.take("[")
                key = self.ternary()
                self.take("]")
            else:
                self.take(".")
                kind, key = self.take()
                if kind != "name":
                    raise ArgoError("expr syntax error after '.'")
            if not isinstance(value, dict) or key not in value:
                raise ArgoError(f"cannot fetch {key!r}")
            value = value[key]
        return value


def evaluate(expression: str, params: dict[str, str]) -> Any:
    """Run an expr expression in Argo's environment (params: the flat `tasks.x.outputs.parameters.y` map)."""
    return _Parser(expression, _expand(params)).parse()


def functions_called(expression: str) -> set[str]:
    """Names called in an expression (parsed, not evaluated: values are not needed)."""
    names = set()
    for m in _EXPR_TOKEN.finditer(expression):
        if m.lastgroup == "name":
            rest = expression[m.end() :].lstrip()
            if rest.startswith("("):
                names.add(m.group("name"))
    return names
