"""The house is one-way: the import graph of app/ has no cycle and no forbidden arrow.

Every import counts, including those made only for type checking or inside a function:
a type-only cycle still means two modules cannot be understood apart. The picture these
rules draw is docs/architecture.md.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
BACKENDS = ("sqlalchemy", "asyncpg", "psycopg", "redis", "app.db", "app.store")

# (importer, imported, why): a module under the first prefix may not import one under any
# of the second. Prefixes match whole dotted parts, and third-party top-level names too.
FORBIDDEN: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "app.published",
        (*BACKENDS, "fastapi", "app.serving", "app.jobs", "app.api", "app.cli", "app.main"),
        "the published format is plain data and codecs, shared by both sides",
    ),
    ("app.jobs", ("app.serving", "app.api", "app.main"), "the writer never reads as the API"),
    (
        "app.api",
        ("app.db", "sqlalchemy", "app.published.keys", "app.jobs", "app.cli"),
        "handlers reach stored data through app.serving only",
    ),
    (
        "app.serving",
        ("app.db", "sqlalchemy", "app.jobs", "app.api", "app.cli", "app.main"),
        "the read side answers from the store, never from the database",
    ),
    ("app.store", ("app.serving", "app.jobs", "app.api", "app.db", "sqlalchemy"), "a backend"),
    *(
        (core, (*BACKENDS, "fastapi", "app.serving", "app.jobs", "app.api"), "a pure core")
        for core in ("app.mining", "app.offers", "app.analytics")
    ),
)

# The API still writes upgrade outcomes straight to Postgres; these arrows go when those
# writes move to the buffered path, and the test below fails once one is gone, so the
# list can only shrink.
STILL_TO_MOVE = frozenset(
    {
        ("app.api.upgrade_offers", "app.db.models"),
        ("app.api.upgrade_offers", "sqlalchemy"),
        ("app.api.deps", "sqlalchemy"),
    }
)
# What handles a request: the routes, the read side and the middleware. app.main is the
# composition root: its lifespan may start background jobs, but no request runs them.
REQUEST_PATH = ("app.api", "app.serving", "app.middleware")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(APP.rglob("*.py"))}


def imported_names(module: str, path: Path) -> Iterator[str]:
    """Every dotted name a module imports, relative imports resolved."""
    package = module if is_package(path) else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """Module -> what it imports: app modules by full name, anything else by top-level name.

    Arrows still to be moved off the request path (STILL_TO_MOVE) are left out.
    """
    known = modules()
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        targets: set[str] = set()
        for name in imported_names(module, path):
            if name.split(".")[0] != "app":
                targets.add(name.split(".")[0])
            elif name in known:
                targets.add(name)
            elif name.rpartition(".")[0] in known:  # `from app.x import Thing`
                targets.add(name.rpartition(".")[0])
        targets.discard(module)
        graph[module] = targets - {t for m, t in STILL_TO_MOVE if m == module}
    return graph


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def package_of(module: str) -> str:
    """`app.jobs.rebuild` -> `app.jobs`; top-level modules (`app.settings`) stand alone."""
    return ".".join(module.split(".")[:2])


def forbidden_arrows(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for importer, targets in graph.items():
        for source, banned, why in FORBIDDEN:
            if not under(importer, source):
                continue
            found += [
                f"{importer} -> {target} ({why})"
                for target in sorted(targets)
                if any(under(target, prefix) for prefix in banned)
            ]
    return found


def cycle(graph: dict[str, set[str]]) -> list[str]:
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        return list(error.args[1])
    return []


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def app_only(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    return {module: {t for t in targets if under(t, "app")} for module, targets in graph.items()}


def test_no_module_imports_what_its_layer_may_not() -> None:
    assert forbidden_arrows(import_graph()) == []


def test_no_import_cycle_between_modules() -> None:
    assert cycle(app_only(import_graph())) == []


def test_no_import_cycle_between_packages() -> None:
    packages: dict[str, set[str]] = {}
    for module, targets in app_only(import_graph()).items():
        arrows = packages.setdefault(package_of(module), set())
        arrows |= {package_of(t) for t in targets} - {package_of(module), "app"}
    assert cycle(packages) == []


def test_the_rules_catch_a_forbidden_arrow_and_a_cycle() -> None:
    graph = {"app.jobs.a": {"app.serving.b", "app.jobs.c"}, "app.jobs.c": {"app.jobs.a"}}
    assert forbidden_arrows(graph) == [
        "app.jobs.a -> app.serving.b (the writer never reads as the API)"
    ]
    assert set(cycle(graph)) == {"app.jobs.a", "app.jobs.c"}


def test_relative_and_type_only_imports_are_seen(tmp_path: Path) -> None:
    path = tmp_path / "mod.py"
    path.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .sibling import Thing\n"
        "def late() -> None:\n    import sqlalchemy\n"
    )
    names = set(imported_names("app.jobs.mod", path))
    assert {"app.jobs.sibling.Thing", "sqlalchemy"} <= names


def test_every_arrow_still_to_move_still_exists() -> None:
    known = modules()
    for module, target in STILL_TO_MOVE:
        assert any(
            name == target or name.startswith(target + ".")
            for name in imported_names(module, known[module])
        ), f"{module} no longer imports {target}: drop it from STILL_TO_MOVE"


def test_the_request_path_never_loads_the_database() -> None:
    graph = import_graph()
    loaded: set[str] = set()
    for module in graph:
        if any(under(module, start) for start in REQUEST_PATH):
            loaded |= reachable(graph, module)
    assert sorted(m for m in loaded if under(m, "app.db") or m == "sqlalchemy") == []
