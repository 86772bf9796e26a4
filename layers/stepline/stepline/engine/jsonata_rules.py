"""What Step Functions refuses in a JSONata expression that jsonatapy would run.

Step Functions implements JSONata 2.0.6 and evaluates every expression with no input
document, so it refuses, when the state machine is created:

- the operators JSONata added after 2.0.6: ``??`` (coalescing) and ``?:`` (Elvis), which its
  2.0.6 parser cannot read (``INVALID_JSONATA_EXPRESSION``);
- a reference at the top level, where the input document would be read: ``$``, ``$$`` or a
  path's first name, as in ``{% phone %}`` (the States Language: "a JSONata expression MUST
  NOT reference "$" or unqualified field names at the top level"; AWS's message:
  ``UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not supported.``).
  Nested inside an expression they are allowed: a path's later steps, a predicate
  (``$states.input.items[price > 5]``), a group-by or sort, a lambda's body.

jsonatapy gives no syntax tree, so this is a tokenizer and a scan for those positions only;
anything it is unsure of, it accepts, leaving jsonatapy's own parse to refuse what is invalid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_TOKEN = re.compile(
    r"""
      (?P<space>\s+|/\*.*?\*/)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<name>`[^`]*`|[^\s"'`.,;:()\[\]{}+\-*/%&=!<>?~^|@\#$]+)
    | (?P<variable>\$\$|\$[^\s"'`.,;:()\[\]{}+\-*/%&=!<>?~^|@\#$]*)
    | (?P<operator>\?\?|\?:|:=|~>|!=|<=|>=|\.\.|\*\*|[.,;:()\[\]{}+\-*/%&=<>?^|@\#])
    """,
    re.VERBOSE | re.DOTALL,
)
_KEYWORD_OPERATORS = frozenset({"and", "or", "in"})
_LITERALS = frozenset({"true", "false", "null"})
_LAMBDA = frozenset({"function", "λ"})
_REGEX_FLAGS = re.compile(r"[a-z]*")


@dataclass
class _Scan:
    """Where the scan is: whether the next token starts an operand, and whether each open bracket
    evaluates in the top-level context."""

    operand: bool = True  # the next token starts an operand (at the start, after an operator)
    step: bool = False  # the operand is a path's later step (after ".")
    top: list[bool] = field(default_factory=lambda: [True])  # per open bracket: in the top-level context
    found: list[str] = field(default_factory=list)
    bars: int = 0  # the "|" of a transform seen so far (0, 1 or 2)

    def open(self, nested: bool) -> None:
        self.top.append(self.top[-1] and not nested)
        self.operand, self.step = True, False

    def close(self) -> None:
        if len(self.top) > 1:
            self.top.pop()
        self.operand, self.step = False, False

    def reference(self, name: str) -> None:
        if self.operand and not self.step and self.top[-1]:
            self.found.append(name)
        self.operand, self.step = False, False


def refusal(text: str) -> str | None:
    """Why Step Functions would refuse the expression ``text`` (None: nothing here refuses it)."""
    scan = _Scan()
    position = 0
    while position < len(text):
        if scan.operand and text[position] == "/" and not text.startswith("/*", position):
            position = _skip_regex(text, position, scan)
            continue
        match = _TOKEN.match(text, position)
        if match is None:
            return None  # not a token: jsonatapy's parse says what is wrong
        position = match.end()
        kind, token = match.lastgroup, match.group()
        if kind == "operator" and token in {"??", "?:"}:
            return f"INVALID_JSONATA_EXPRESSION: the operator '{token}' is not in JSONata 2.0.6, which AWS runs"
        _advance(scan, kind or "", token)
    if scan.found:
        return f"UNSUPPORTED_JSONATA_EXPRESSION: Reference to '{scan.found[0]}' at the top level is not supported."
    return None


def _advance(scan: _Scan, kind: str, token: str) -> None:
    """One token moves the scan."""
    if kind == "space":
        return
    if kind in {"string", "number"} or (kind == "name" and token in _LITERALS):
        scan.operand, scan.step = False, False
    elif kind == "name" and not scan.operand and token in _KEYWORD_OPERATORS:
        scan.operand = True
    elif kind == "name" and token in _LAMBDA:
        scan.operand = False  # its parameters, then its body: a group-by's place, so nested
    elif kind == "name":
        scan.reference(token.strip("`"))
    elif kind == "variable":
        scan.reference(token) if token in {"$", "$$"} else _operand_done(scan)
    else:
        _operator(scan, token)


def _operand_done(scan: _Scan) -> None:
    scan.operand, scan.step = False, False


def _operator(scan: _Scan, symbol: str) -> None:
    after_operand = not scan.operand
    if symbol in {"(", "[", "{"}:
        # After an operand: a call's arguments (same context), or a predicate or group-by
        # (the operand's items). A path's step, a block, or a constructor: as around it.
        nested = scan.step or (after_operand and symbol != "(")
        scan.open(nested)
    elif symbol in {")", "]", "}"}:
        scan.close()
    elif symbol == ".":
        scan.operand, scan.step = True, True
    elif symbol == "^":
        scan.operand, scan.step = True, True  # ^( … ): a sort's keys read the items sorted
    elif symbol == "|":
        _transform(scan)
    elif symbol in {"*", "**"} and scan.operand:
        _operand_done(scan)  # a wildcard step
    elif symbol in {"@", "#"}:
        scan.operand, scan.step = True, True  # a focus or index variable follows
    else:
        scan.operand, scan.step = True, False


def _transform(scan: _Scan) -> None:
    """``| location | update |``: both parts read the object transformed, not the top level."""
    scan.bars = (scan.bars + 1) % 3
    if scan.bars == 1:
        scan.open(True)
    elif scan.bars == 0:
        scan.close()
        return
    scan.operand, scan.step = True, False


def _skip_regex(text: str, position: int, scan: _Scan) -> int:
    """Past a regular expression literal ``/…/flags`` (an operand)."""
    index = position + 1
    while index < len(text) and text[index] != "/":
        index += 2 if text[index] == "\\" else 1
    flags = _REGEX_FLAGS.match(text, index + 1)
    scan.operand, scan.step = False, False
    return flags.end() if flags else len(text)
