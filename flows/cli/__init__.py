"""The `newsdesk` command line: the app, its commands by module, and `main` (one-line errors)."""

from __future__ import annotations

import sys

import typer

from flows.cli import analyst, cluster, core, feeds, lake, migrate, ops  # noqa: F401 - each registers its commands on `app`
from flows.cli.app import CliError, app

__all__ = ["app", "main"]


def report_usage_error(error: typer.exceptions.TyperException) -> int:
    """Print a usage error in one line (or the help a bare command asks for) and return the exit code."""
    context = getattr(error, "ctx", None)
    message = error.format_message() if hasattr(error, "format_message") else str(error)
    if type(error).__name__ == "NoArgsIsHelpError":  # `newsdesk` alone: its help, as `newsdesk --help`
        print(message)
        return 0
    hint = f" (see `newsdesk {context.info_name} --help`)" if context and context.parent else ""
    print(f"newsdesk: error: {message}{hint}", file=sys.stderr)
    return getattr(error, "exit_code", 2)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user errors become one line on stderr instead of a traceback."""
    from flows.settings.config import ConfigError
    from warehouse.as_of import AsOfError
    from warehouse.db import DatabaseError, WarehouseBusy, WarehouseSettingError
    from warehouse.lake import LakeExtensionMissing, LakeSettingError
    from warehouse.location import SingleFileWarehouse
    from warehouse.migrate import SchemaError
    from warehouse.read_guard import ReadOnlyRefused

    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="newsdesk", standalone_mode=False)
    except typer.exceptions.TyperException as error:  # click's usage errors (typer's public base class)
        return report_usage_error(error)
    except (typer.Abort, KeyboardInterrupt):
        print("newsdesk: aborted", file=sys.stderr)
        return 130
    except (
        ConfigError,
        SchemaError,
        WarehouseBusy,
        WarehouseSettingError,
        LakeSettingError,
        LakeExtensionMissing,
        SingleFileWarehouse,
        AsOfError,
        FileNotFoundError,
        CliError,
    ) as error:
        print(f"newsdesk: error: {error}", file=sys.stderr)
        return 2
    except ReadOnlyRefused as error:
        print(f"newsdesk: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"newsdesk: error: {describe_os_error(error)}", file=sys.stderr)
        return 1
    except DatabaseError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"newsdesk: error: {first_line}", file=sys.stderr)
        return 1
    return result if isinstance(result, int) else 0


def describe_os_error(error: OSError) -> str:
    """An OS error as one line that names its path: `data/news.lake.sqlite: File exists`."""
    if error.filename is None or not error.strerror:
        return str(error)
    target = f" -> {error.filename2}" if error.filename2 is not None else ""
    return f"{error.filename}{target}: {error.strerror}"
