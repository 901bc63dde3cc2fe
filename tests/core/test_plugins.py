"""Plugin loading (pingce.builtin) and where built-in suites are found (pingce.core.spec).

A standard whose optional dependency is missing must be listed as unavailable with its install
hint, never silently absent. The dependency is made missing for real in a child process: a
meta-path finder refuses to import it, exactly as if the package were not installed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from pingce.core.spec import (
    builtin_suite_names,
    builtin_suite_paths,
    builtin_suites_dir,
    resolve_suite_path,
)

BLOCK = textwrap.dedent(
    """
    import sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name == {blocked!r} or name.startswith({blocked!r} + "."):
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None
    sys.meta_path.insert(0, Block())
    sys.argv = ["pingce", *{args!r}]
    from pingce.cli import main
    main()
    """
)


def _pingce_without(blocked: str, *args: str) -> subprocess.CompletedProcess[str]:
    code = BLOCK.format(blocked=blocked, args=list(args))
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=240,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", "HOME": "/tmp"},
    )


def test_standard_with_missing_dependency_is_listed_as_unavailable() -> None:
    done = _pingce_without("rdflib", "list", "standards")
    assert done.returncode == 0, done.stderr
    line = next(ln for ln in done.stdout.splitlines() if " kg " in ln)
    assert "unavailable: needs rdflib (pip install 'pingce[kg]')" in line
    assert " llm " in done.stdout  # the others still load


def test_running_an_unavailable_standards_suite_is_one_error_line() -> None:
    done = _pingce_without("rdflib", "validate", "kg/steel-extraction")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: standard 'kg' is unavailable: module 'rdflib' is not installed "
        "(hint: pip install 'pingce[kg]')"
    ]
    listed = _pingce_without("rdflib", "list", "suites")
    assert listed.returncode == 0, listed.stderr
    assert "kg/steel-extraction" in listed.stdout and "unavailable" in listed.stdout


def test_suites_inside_standard_packages_are_built_in_suites() -> None:
    paths = builtin_suite_paths()
    assert "llm/quick" in paths  # the shared folder src/pingce/suites/<std>/
    shared = builtin_suites_dir()
    inside = [n for n, p in paths.items() if not p.is_relative_to(shared)]
    assert inside, "no suite under src/pingce/<package>/suites/"
    assert all(paths[n].parent.parent.name == n.split("/")[0] for n in inside)
    name = inside[0]
    assert resolve_suite_path(name) == paths[name]
    assert builtin_suite_names() == sorted(paths)


def test_list_suites_keeps_a_family_together() -> None:
    from pingce.commands.listing import _family_order

    rows = [
        ("", "a/x", "a/x", None),
        ("steel", "steel/bof", "steel/bof", None),
        ("steel", "kg/steel", "kg/steel", None),
        ("", "llm/quick", "llm/quick", None),
        ("steel", "llm/sector/steel", "llm/sector/steel", None),
    ]
    order = [cells for cells, _ in _family_order(rows)]
    # the family follows its first suite (kg/steel); the others stay in name order
    assert order == ["a/x", "kg/steel", "llm/sector/steel", "steel/bof", "llm/quick"]


def test_non_standard_command_groups_are_registered() -> None:
    from pingce.core.registry import commands, standards

    names = commands.names()
    assert "serve" in names and "safety" in names  # builtin.EXTRAS
    assert "safety" not in standards.names()
