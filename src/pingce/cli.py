"""The `pingce` command: run, list, show, report, compare, validate, demo."""

from __future__ import annotations

import functools
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from pingce import __version__
from pingce.commands import listing, run, runs
from pingce.core.cli_kit import out, run_cli

__all__ = ["app", "main"]


class PingceGroup(TyperGroup):
    """The top-level `pingce` group: the core commands, plus the command groups standards
    register (`pingce perf ...`), found in the registry only when a command is looked up, so
    `pingce --version` loads no standard and `pingce --help` imports no `CommandGroupRef`."""

    def list_commands(self, ctx: Any) -> list[str]:
        from pingce.core.registry import commands

        own = super().list_commands(ctx)
        return own + [name for name in commands.names() if name not in own]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        found = super().get_command(ctx, cmd_name)
        if found is not None:
            return found
        from pingce.core.registry import commands

        return _command_group(cmd_name) if commands.has(cmd_name) else None

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if isinstance(command, _LazyGroup):  # about to run: import it now
            command = command.load()
        return name, command, rest


class _LazyGroup(TyperGroup):
    """What `pingce --help` lists for a `CommandGroupRef`: its name and help, nothing imported."""

    def __init__(self, name: str, ref: Any) -> None:
        super().__init__(name=name, help=ref.help)
        self.ref = ref

    def load(self) -> Any:
        return _typer_group(self.name or "", self.ref.load())


@functools.cache
def _command_group(name: str) -> Any:
    from pingce.core.registry import CommandGroupRef, commands

    entry = commands.get(name)
    return (
        _LazyGroup(name, entry) if isinstance(entry, CommandGroupRef) else _typer_group(name, entry)
    )


def _typer_group(name: str, entry: Any) -> Any:
    group = typer.main.get_group(entry) if isinstance(entry, typer.Typer) else entry
    group.name = name
    return group


app = typer.Typer(
    cls=PingceGroup,
    help="pingce (评测): standards-based evaluation of AI models and AI systems.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# The core commands, in the order `pingce --help` lists them.
app.command()(run.run)
app.command()(run.demo)
app.command("list")(listing.list_)
app.command()(runs.show)
app.command()(runs.report)
app.command("export")(runs.export_cmd)
app.command()(runs.compare)
app.command()(runs.validate)


@app.callback(invoke_without_command=True)
def _main(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"pingce {__version__}")
        raise typer.Exit()


@functools.cache
def _click_command() -> Any:
    """The click command tree, built once per process: `app(...)` rebuilds it from every
    command's signature on each call (0.4 s), which in-process callers repeat."""
    return typer.main.get_command(app)


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2."""
    run_cli(_click_command())


if __name__ == "__main__":
    main()
