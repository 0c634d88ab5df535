"""The `KEY  # reason` lists (conformance expected failures, the LIO fuzzer's known findings)."""
import pytest

from iscsilab.conformance.runner import load_expected
from iscsilab.liofuzz.campaign import load_known
from iscsilab.reason_list import read_reason_list


def test_keys_and_reasons_are_read_and_comments_skipped(tmp_path):
    f = tmp_path / "l.txt"
    f.write_text("# a comment\n\nLOGIN-001  # LIO answers X; 6.2 says Y\n"
                 "kernel:warning:a # b  # reason with # inside the key\n")
    assert read_reason_list(f, "KEY") == {
        "LOGIN-001": "LIO answers X; 6.2 says Y",
        "kernel:warning:a # b": "reason with # inside the key"}


def test_a_missing_file_is_an_empty_list(tmp_path):
    assert read_reason_list(tmp_path / "none.txt", "KEY") == {}


@pytest.mark.parametrize("line", ["LOGIN-001", "LOGIN-001  # ", "LOGIN-001 # one space"])
def test_a_line_without_its_reason_names_file_and_line(tmp_path, line):
    f = tmp_path / "lio.txt"
    f.write_text(f"# header\n{line}\n")
    with pytest.raises(ValueError, match=r"lio.txt:2: expected 'TEST-ID  # reason'"):
        load_expected(f)
    with pytest.raises(ValueError, match=r"lio.txt:2: expected 'SIGNATURE  # reason'"):
        load_known(f)
