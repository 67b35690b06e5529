"""How a command ends: exit 2 and one line per problem for bad input, exit 1 and what failed
for a service, 128+N after a signal (SIGTERM and SIGHUP unwind as Ctrl-C does), and never a
traceback unless --debug asks for one."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from functools import wraps
from types import FrameType
from typing import Any, NoReturn

import click

from pipeline.errors import InputError, ServiceError


class Stopped(BaseException):
    """SIGTERM or SIGHUP: unwinds like Ctrl-C, so the embedded server and locks are released."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop(signum: int, _frame: FrameType | None) -> NoReturn:
    raise Stopped(signum)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP stop a command as Ctrl-C does (the main thread only; restored after)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Exit 2 for bad input, 1 for a failed service; one line each, no traceback."""

    @wraps(command)
    def wrapper(*args: Any, debug: bool = False, **kwargs: Any) -> Any:
        try:
            with stop_on_signals():
                return command(*args, **kwargs)
        except Stopped as exc:
            click.echo(f"stopped by {signal.Signals(exc.signum).name}; run the same command again to finish", err=True)
            sys.exit(128 + exc.signum)
        except InputError as exc:
            for problem in exc.problems:
                click.echo(f"error: {problem}", err=True)
            sys.exit(2)
        except ServiceError as exc:
            click.echo(f"error: {exc.what}", err=True)
            if exc.hint:
                click.echo(f"  {exc.hint}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted; run the same command again to finish", err=True)
            sys.exit(130)
        except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
            if debug:
                traceback.print_exc()
            click.echo(f"error: internal error: {type(exc).__name__}: {exc} (rerun with --debug for details)", err=True)
            sys.exit(1)

    return wrapper


def emit(result: dict | list, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
