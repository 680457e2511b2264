"""How handlers and providers ask for what `create_app` provides.

Injected values are our own objects (the engine, a session, the settings...), so they are
marked to skip validation: msgspec would otherwise re-check or even rebuild them per request.
"""

from __future__ import annotations

from typing import TypeAlias, TypeVar

from litestar.di import NamedDependency
from litestar.params import SkipValidation

T = TypeVar("T")

Provided: TypeAlias = NamedDependency[SkipValidation[T]]
