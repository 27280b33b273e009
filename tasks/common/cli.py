"""What every command in ``tools/`` does with a failure: one line that names the problem, and a non-zero exit.

A user's mistake (a missing file, a bad option, a corrupt checkpoint) surfaces as an exception raised by the
packages with a message that says what is wrong and what to do. :func:`run_command` prints that message as one
line, ``error: <message>``, and exits with status 1, instead of a traceback from deep inside torch or mmengine.
``--debug`` on the command line, or ``SMIXER_DEBUG=1`` in the environment, lets the traceback through.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Callable, List, Optional, Sequence

__all__ = ["run_command", "one_line", "first_line", "DEBUG_FLAG", "DEBUG_ENV"]

DEBUG_FLAG = "--debug"
DEBUG_ENV = "SMIXER_DEBUG"


def one_line(err: BaseException) -> str:
    """``err`` as one line, whitespace collapsed, prefixed by its type unless it is a usual user-error type.

    An error raised in a DataLoader worker arrives with the worker's traceback in its message: only the worker's
    own error line (its last line) is kept.
    """
    text = str(err.args[0]) if isinstance(err, KeyError) and len(err.args) == 1 else str(err)
    if "Original Traceback" in text:
        text = [line for line in text.splitlines() if line.strip()][-1]
    message = " ".join(text.split()) or type(err).__name__
    return message if isinstance(err, (ValueError, TypeError, OSError, KeyError, RuntimeError)) \
        else f"{type(err).__name__}: {message}"


def first_line(err: BaseException) -> str:
    """The first line of a third-party error's message, without its final full stop (its type name when the message
    is empty): the reason inside one of the project's own one-line messages."""
    lines = str(err).strip().splitlines()
    return lines[0].strip().rstrip(".") if lines else type(err).__name__


def _debug_requested(argv: List[str]) -> bool:
    return DEBUG_FLAG in argv or os.environ.get(DEBUG_ENV, "").lower() not in ("", "0", "false", "no")


def run_command(main: Callable[[List[str]], Any], argv: Optional[Sequence[str]] = None) -> Any:
    """Call ``main(argv)`` (``sys.argv[1:]`` by default, ``--debug`` removed); on an exception print
    ``error: <one line>`` to stderr and exit 1, unless debugging was asked for. Ctrl-C exits 130."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    args = [a for a in args if a != DEBUG_FLAG]
    if debug:
        return main(args)
    try:
        return main(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as err:  # noqa: BLE001  (every failure becomes one line; --debug shows the traceback)
        print(f"error: {one_line(err)}  (run with {DEBUG_FLAG} for the traceback)", file=sys.stderr)
        raise SystemExit(1) from None
