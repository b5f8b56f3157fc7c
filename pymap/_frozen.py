"""Python objects whose state the C core relies on cannot be changed.

A GoMap, Runtime, Pool, Scenario or MapIterator holds C pointers and the
facts it computed from them (sizes, encoders, the map's type).  Setting one
of those attributes from Python, or running ``__init__`` again on a live
object, would make the Python side disagree with the C core: at best a
wrong answer, at worst the C core reading past a buffer.  So these classes
derive from Frozen:

* ``__slots__`` only, and ``__setattr__``/``__delattr__`` refuse every name
  except the settable properties the class documents (``rt.gogc = 50``
  goes through the property's validation to the C core);
* the class's own code sets its slots once with ``set_attr``;
* ``__init__`` runs once (``init_once``);
* copying and pickling are refused with a TypeError naming the alternative,
  unless the class defines them meaningfully.

The result classes (MemStats, Step, Bucket, ...) are values: frozen
dataclasses made with ``value_class``, which copy and pickle as values.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any, TypeVar

set_attr = object.__setattr__


class Frozen:
    __slots__ = ()

    # How to get a second one, for the TypeError of copy/pickle.
    _copy_hint = "make a new one"

    def __setattr__(self, name: str, value: Any) -> None:
        prop = getattr(type(self), name, None)
        if isinstance(prop, property) and prop.fset is not None:
            set_attr(self, name, value)     # the property validates and sets
            return
        raise AttributeError(f"pymap.{_public_name(self)} is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"pymap.{_public_name(self)} is immutable: cannot delete {name!r}")

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise TypeError(f"pymap.{_public_name(self)} cannot be copied or pickled "
                        f"(it is a handle on the C model): {self._copy_hint}")

    def __copy__(self) -> Any:
        return self.__reduce_ex__(2)

    def __deepcopy__(self, memo: Any) -> Any:
        return self.__reduce_ex__(2)


def init_once(obj: Frozen, first_slot: str) -> None:
    """Refuse a second ``__init__`` on a live object (its first slot is set)."""
    try:
        object.__getattribute__(obj, first_slot)
    except AttributeError:
        return
    raise TypeError(f"pymap.{_public_name(obj)}.__init__ cannot run again on a live object")


def _public_name(obj: Any) -> str:
    for c in type(obj).__mro__:
        if not c.__name__.startswith("_"):
            return c.__name__
    return type(obj).__name__


T = TypeVar("T")


def value_class(cls: type[T]) -> type[T]:
    """A frozen dataclass whose ``__init__`` cannot run again either.

    (A frozen dataclass's own ``__init__`` sets its fields with
    object.__setattr__, so calling it again on an instance would change it.)
    """
    dc = dataclasses.dataclass(frozen=True)(cls)
    first = next(iter(dc.__dataclass_fields__))
    init = dc.__init__

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if first in self.__dict__:
            raise TypeError(f"pymap.{type(self).__name__}.__init__ cannot run again on an instance")
        init(self, *args, **kwargs)

    dc.__init__ = __init__  # type: ignore[misc]
    return dc
