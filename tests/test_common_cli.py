"""The one-line error of every command in tools/ (tasks.common.cli)."""
from __future__ import annotations

import pytest

from tasks.common.cli import one_line, run_command


def _fail(err: BaseException):
    def main(argv):
        raise err
    return main


def test_one_line_collapses_and_names_unusual_types():
    assert one_line(ValueError("bad\n  ratio")) == "bad ratio"
    assert one_line(KeyError("unknown model 'x'")) == "unknown model 'x'"
    assert one_line(ZeroDivisionError("division by zero")) == "ZeroDivisionError: division by zero"


def test_one_line_keeps_only_a_dataloader_workers_own_error():
    worker = ("Caught ValueError in DataLoader worker process 0.\nOriginal Traceback (most recent call last):\n"
              '  File "x.py", line 3, in f\n    raise ValueError(...)\nValueError: RandomCrop(40) on a 28x28 image\n')
    assert one_line(ValueError(worker)) == "ValueError: RandomCrop(40) on a 28x28 image"


def test_run_command_prints_one_line_and_exits_1(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_command(_fail(FileNotFoundError("config file not found: x.py")), ["x.py"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: config file not found: x.py") and err.count("\n") == 1 and "--debug" in err


def test_debug_lets_the_exception_through(monkeypatch):
    with pytest.raises(FileNotFoundError):
        run_command(_fail(FileNotFoundError("x")), ["--debug"])
    monkeypatch.setenv("SMIXER_DEBUG", "1")
    with pytest.raises(FileNotFoundError):
        run_command(_fail(FileNotFoundError("x")), [])


def test_debug_flag_is_removed_from_the_arguments():
    seen = []
    run_command(seen.append, ["a", "--debug", "b"])
    assert seen == [["a", "b"]]


def test_first_line_is_the_reason_inside_a_message():
    from tasks.common.cli import first_line

    assert first_line(ValueError("Compressed file ended.\n  more detail")) == "Compressed file ended"
    assert first_line(OSError()) == "OSError"
