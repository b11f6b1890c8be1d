"""The surfaces other layers import are declared, and the declaration is kept true.

A package's ``__all__`` lists exactly its public names; a module's ``__all__`` names only
what it has, and every public class and function it defines is in it. A name added without
being declared, or declared and then removed, fails here.
"""

from __future__ import annotations

import importlib
import inspect
import types

import pytest

#: packages whose ``__init__`` is a facade: ``__all__`` is the whole public namespace
PACKAGES = ["hangar.store", "hangar.client", "hangar.testing"]

#: modules other layers import directly
MODULES = [
    "hangar.proto.api",
    "hangar.proto.auth",
    "hangar.proto.beads",
    "hangar.proto.calls",
    "hangar.proto.comments",
    "hangar.proto.events",
    "hangar.proto.framing",
    "hangar.proto.jsonrpc",
    "hangar.proto.methods",
    "hangar.proto.routes",
    "hangar.proto.rows",
    "hangar.proto.scopes",
    "hangar.proto.skills",
    "hangar.plugins.sdk",
    "hangar.daemon.events",
    "hangar.daemon.lifecycle",
    "hangar.daemon.signals",
    "hangar.adapters.beads",
    "hangar.adapters.executor",
    "hangar.adapters.files",
    "hangar.adapters.git",
    "hangar.adapters.process",
    "hangar.adapters.procfs",
    "hangar.adapters.skill_source",
    "hangar.adapters.notifiers",
    "hangar.core.notify",
    "hangar.core.notices",
    "hangar.core.coalesce",
    "hangar.proto.notify",
    "hangar.store.notify",
    "hangar.daemon.notify.service",
    "hangar.daemon.notify.worker",
    "hangar.daemon.notify.facts",
    "hangar.daemon.notify.settings",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_a_package_exports_exactly_its_public_names(name: str) -> None:
    package = importlib.import_module(name)
    for member in package.__all__:  # declared names exist, lazy ones included
        getattr(package, member)
    public = sorted(
        member
        for member, value in vars(package).items()
        if not member.startswith("_")
        and not isinstance(value, types.ModuleType)
        and member not in ("annotations", "TYPE_CHECKING")
    )
    assert len(set(package.__all__)) == len(package.__all__), "a name is declared twice"
    # every public name is declared (lazy ones, resolved above, may not sit in vars yet)
    assert sorted(set(public) - set(package.__all__)) == []


@pytest.mark.parametrize("name", MODULES)
def test_a_module_declares_what_it_defines(name: str) -> None:
    module = importlib.import_module(name)
    declared = set(module.__all__)
    assert len(declared) == len(module.__all__), "a name is declared twice"
    missing = sorted(member for member in declared if not hasattr(module, member))
    assert missing == [], f"declared but not defined: {missing}"
    defined = {
        member
        for member, value in vars(module).items()
        if not member.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and getattr(value, "__module__", None) == name
    }
    assert sorted(defined - declared) == [], "defined here but not declared in __all__"
