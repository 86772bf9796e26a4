"""Variables in Commands, kept out of the shell's syntax.

CodePipeline resolves ``#{Namespace.Key}`` in a Commands action textually, so a branch named
``feat$(touch${IFS}pwned)`` would become code in the shell. Here each reference becomes a
reference to an environment variable holding the value: the shell expands it as data and
never parses it. Where the reference stands decides how, so the command means what its text
meant:

    unquoted            echo #{V.Branch}        →  echo ${STEPLINE_V_Branch}
    in double quotes    echo "on #{V.Branch}"   →  echo "on ${STEPLINE_V_Branch}"
    in single quotes    echo 'on #{V.Branch}'   →  echo 'on '"${STEPLINE_V_Branch}"''

(An expansion's result is never read again as syntax: no command substitution, no quotes.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from stepline.definition.variables import REFERENCE, VariableReference, value_of

_NOT_A_NAME = re.compile(r"[^A-Za-z0-9_]")

# Quoting contexts while scanning a command.
_PLAIN, _SUBSTITUTION, _BACKTICK, _DOUBLE, _SINGLE, _ANSI = range(6)


@dataclass
class ShellCommands:
    """Commands to run as written, and the environment their variable references read."""

    commands: list[str]
    environment: dict[str, str] = field(default_factory=dict)


def commands_for_shell(commands: list[str], variables: Mapping[str, Mapping[str, str]]) -> ShellCommands:
    result = ShellCommands([])
    names: dict[VariableReference, str] = {}

    def name_for(reference: VariableReference) -> str:
        if reference not in names:
            base = "STEPLINE_" + _NOT_A_NAME.sub("_", f"{reference.namespace}_{reference.key}")
            name, suffix = base, 1
            while name in result.environment:
                suffix += 1
                name = f"{base}_{suffix}"
            result.environment[name] = value_of(reference, variables)
            names[reference] = name
        return names[reference]

    for command in commands:
        result.commands.append(_rewrite(command, name_for))
    return result


def _rewrite(command: str, name_for: Callable[[VariableReference], str]) -> str:
    out: list[str] = []
    stack = [_PLAIN]
    position = 0
    while position < len(command):
        found = REFERENCE.match(command, position) if command.startswith("#{", position) else None
        if found is not None:
            name = name_for(VariableReference(found["namespace"], found["key"]))
            out.append(_expansion(name, stack[-1]))
            position = found.end()
            continue
        step = _scan(command, position, stack)
        out.append(command[position : position + step])
        position += step
    return "".join(out)


def _scan(command: str, position: int, stack: list[int]) -> int:
    """Move the quoting context over the character at ``position``; how many characters it took."""
    context, char, pair = stack[-1], command[position], command[position : position + 2]
    if context == _SINGLE:
        if char == "'":
            stack.pop()
        return 1
    if char == "\\":
        return 2  # an escaped character is never a quote
    if context == _ANSI:
        if char == "'":
            stack.pop()
        return 1
    if pair == "$(":
        stack.append(_SUBSTITUTION)
        return 2
    if context == _DOUBLE:
        if char == '"':
            stack.pop()
        elif char == "`":
            stack.append(_BACKTICK)
        return 1
    # plain, inside $(…) or inside backquotes
    if pair == "$'":
        stack.append(_ANSI)
        return 2
    opens = {"'": _SINGLE, '"': _DOUBLE}
    if char in opens:
        stack.append(opens[char])
    elif char == "`":
        if context == _BACKTICK:
            stack.pop()
        else:
            stack.append(_BACKTICK)
    elif char == "(" and context == _SUBSTITUTION:
        stack.append(_SUBSTITUTION)  # a nested group: its ")" closes it, not the substitution
    elif char == ")" and context == _SUBSTITUTION:
        stack.pop()
    return 1


def _expansion(name: str, context: int) -> str:
    if context == _SINGLE:
        return f"'\"${{{name}}}\"'"
    if context == _ANSI:
        return f"'\"${{{name}}}\"$'"
    return f"${{{name}}}"
