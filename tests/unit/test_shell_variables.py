"""Variables in Commands become environment references, placed by the quoting around them."""

from __future__ import annotations

import pytest

from stepline.actions.build.shell import commands_for_shell
from stepline.definition.variables import UnresolvedVariableError

VARIABLES = {"Src": {"Branch": "main", "Commit": "abc123"}, "my-ns": {"weird.key": "v"}}


@pytest.mark.parametrize(
    ("command", "rewritten"),
    [
        ("echo #{Src.Branch}", "echo ${STEPLINE_Src_Branch}"),
        ('echo "on #{Src.Branch}!"', 'echo "on ${STEPLINE_Src_Branch}!"'),
        ("echo 'on #{Src.Branch}!'", "echo 'on '\"${STEPLINE_Src_Branch}\"'!'"),
        ("echo $'on #{Src.Branch}\\n'", "echo $'on '\"${STEPLINE_Src_Branch}\"$'\\n'"),
        ("echo \"$(echo '#{Src.Branch}')\"", "echo \"$(echo ''\"${STEPLINE_Src_Branch}\"'')\""),
        ("echo `echo '#{Src.Branch}'`", "echo `echo ''\"${STEPLINE_Src_Branch}\"''`"),
        ("echo \\'#{Src.Branch}", "echo \\'${STEPLINE_Src_Branch}"),
        ('echo "it\'s #{Src.Branch}"', 'echo "it\'s ${STEPLINE_Src_Branch}"'),
        ("echo #{my-ns.weird.key}", "echo ${STEPLINE_my_ns_weird_key}"),
        ("echo plain", "echo plain"),
    ],
)
def test_each_reference_reads_the_environment_as_its_quoting_needs(command: str, rewritten: str) -> None:
    assert commands_for_shell([command], VARIABLES).commands == [rewritten]


def test_the_environment_carries_each_value_once_under_one_name() -> None:
    # Given two commands naming the same variable, and another one
    rewritten = commands_for_shell(["echo #{Src.Branch}", "git checkout #{Src.Commit} # on #{Src.Branch}"], VARIABLES)
    # Then each variable has one name, holding its value
    assert rewritten.environment == {"STEPLINE_Src_Branch": "main", "STEPLINE_Src_Commit": "abc123"}


def test_names_that_clean_up_alike_stay_apart() -> None:
    rewritten = commands_for_shell(["echo #{a-b.c} #{a_b.c}"], {"a-b": {"c": "1"}, "a_b": {"c": "2"}})
    assert rewritten.commands == ["echo ${STEPLINE_a_b_c} ${STEPLINE_a_b_c_2}"]
    assert rewritten.environment == {"STEPLINE_a_b_c": "1", "STEPLINE_a_b_c_2": "2"}


def test_a_reference_with_no_value_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(UnresolvedVariableError, match="namespace 'Src' has no 'Tag'"):
        commands_for_shell(["echo #{Src.Tag}"], VARIABLES)
