"""The holidays package's countries: which have a calendar, and loading only the one needed."""

from __future__ import annotations

import importlib.util
import sys
import threading
from functools import cache
from typing import Any

_LOCK = threading.RLock()
_COUNTRIES = "holidays.countries"


@cache
def _codes() -> frozenset[str]:
    # The registry's codes are the keys of ``holidays.list_supported_countries()`` (aliases
    # included), which imports every country's module to list its subdivisions: a tenth of a
    # second at every start, for a yes or no.
    from holidays.registry import EntityLoader

    return frozenset(EntityLoader.get_country_codes(include_aliases=True))


def has_holiday_calendar(country: str) -> bool:
    """Does the holidays package have a calendar for *country* (ISO 3166 code, upper case)?"""
    return country in _codes()


def one_country_at_a_time() -> None:
    """Make importing one country's calendar import that country's module only.

    ``holidays.country_holidays("DE")`` imports ``holidays.countries.germany`` through the
    package's registry, but importing any module of ``holidays.countries`` first runs that
    package's ``__init__``, which imports all ~250 country modules (~45 ms, at every command
    that counts days). So the package is put in ``sys.modules`` unexecuted (its path is all a
    submodule import needs), and its ``__init__`` runs the first time one of its own names
    is asked for (``from holidays.countries import Germany``): then it is the whole package,
    as if imported normally. Does nothing if the package is already imported.
    """
    with _LOCK:
        if _COUNTRIES in sys.modules:
            return
        spec = importlib.util.find_spec(_COUNTRIES)  # imports `holidays` itself, not this
        if spec is None or spec.loader is None or spec.submodule_search_locations is None:
            return  # not a package as we know it: leave the import to the holidays package
        package = importlib.util.module_from_spec(spec)
        loader = spec.loader

        def complete(name: str) -> Any:
            # Module-level __getattr__ (PEP 562): only names not set yet come here.
            with _LOCK:
                if "__getattr__" in vars(package):
                    del package.__getattr__
                    loader.exec_module(package)
            try:
                return vars(package)[name]
            except KeyError:
                raise AttributeError(f"module {_COUNTRIES!r} has no attribute {name!r}") from None

        package.__getattr__ = complete  # type: ignore[method-assign]
        sys.modules[_COUNTRIES] = package
        sys.modules["holidays"].countries = package  # type: ignore[attr-defined]  # as import does
