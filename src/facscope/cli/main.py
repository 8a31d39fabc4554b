"""Entry point of the ``facscope`` command. Subcommands are imported only when invoked."""

from __future__ import annotations

import importlib
import sys
import warnings
from typing import Any

import click

from facscope import __version__
from facscope.errors import (
    FacscopeConfigWarning,
    FacscopeDataWarning,
    FacscopeDeprecationWarning,
    FacscopeError,
)

#: command name → "module:attribute" of its click command (loaded on first use)
COMMANDS: dict[str, str] = {
    "detect": "facscope.cli.face:detect",
    "align": "facscope.cli.face:align",
    "regions": "facscope.cli.face:regions",
    "zoom": "facscope.cli.face:zoom_cmd",
    "data": "facscope.cli.data:data",
    "synth": "facscope.cli.synth:synth",
    "motion": "facscope.cli.motion:motion",
    "preprocess": "facscope.cli.motion:preprocess",
    "mer": "facscope.cli.mer:mer",
    "analyze": "facscope.cli.analyze:analyze",
    "eval": "facscope.cli.evaluate:eval_group",
    "rl": "facscope.cli.rl:rl",
    "mellm": "facscope.cli.mellm:mellm",
}


class LazyGroup(click.Group):
    """A click group that imports each subcommand's module only when it runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with warnings.catch_warnings():
                warnings.showwarning = _one_line_warnings(warnings.showwarning)
                return super().invoke(ctx)
        except FacscopeError as exc:
            # One clear line, no traceback: the message names the file/value and the fix.
            click.echo(f"facscope: error: {exc}", err=True)
            ctx.exit(1)


def _one_line_warnings(fallback: Any) -> Any:
    """A ``warnings.showwarning`` that prints facscope's own warnings as one line on stderr
    (they name the data or setting; the Python source line they came from says nothing to a
    command-line user) and hands every other warning to ``fallback``."""

    def show(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
        if issubclass(
            category, (FacscopeDataWarning, FacscopeConfigWarning, FacscopeDeprecationWarning)
        ):
            click.echo(f"facscope: warning: {message}", err=True)
        else:
            fallback(message, category, *args, **kw)

    return show


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="facscope")
def cli() -> None:
    """facscope: facial expression and micro-expression understanding.

    Every command that takes an IMAGE runs on an embedded default portrait when none is given.
    """


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv, prog_name="facscope", standalone_mode=True)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
