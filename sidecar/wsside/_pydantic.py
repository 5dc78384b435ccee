"""What wsside tells of pydantic's classes in `receives=`/`sends=`, without importing pydantic:
a model (BaseModel) is refused with what to use instead, and a pydantic dataclass, read as a
dataclass, has the checks wsside does not run named."""

from __future__ import annotations

__all__ = ["PYDANTIC", "is_pydantic_model", "pydantic_checks"]

# A pydantic model (BaseModel) is no dataclass; a pydantic dataclass is one.
PYDANTIC = (
    "which wsside does not read: declare it with @pydantic.dataclasses.dataclass instead of "
    "BaseModel (wsside reads that as a dataclass, and checks each message against its "
    "fields' types; its validators run where you build it: Model(**data)), or make it a "
    "TypedDict or a dataclass"
)


def pydantic_checks(cls: type) -> str:
    """What a pydantic dataclass checks beyond its fields' types, told without importing
    pydantic (`validators (no_caps)`, `Field constraints (text)`), or ""."""
    decorators = getattr(cls, "__pydantic_decorators__", None)
    fields = getattr(cls, "__pydantic_fields__", None)
    if decorators is None or not isinstance(fields, dict):
        return ""
    names = [
        name
        for kind in ("field_validators", "model_validators", "validators", "root_validators")
        for name in getattr(decorators, kind, None) or ()
    ]
    constrained = [name for name, info in fields.items() if getattr(info, "metadata", None)]
    said = [f"validators ({', '.join(names)})"] if names else []
    said += [f"Field constraints ({', '.join(constrained)})"] if constrained else []
    return " nor ".join(said)


def is_pydantic_model(cls: type) -> bool:
    """Whether `cls` is a pydantic model (v1 or v2), told without importing pydantic: a base
    `BaseModel` of a pydantic module, or the `__pydantic_fields__` pydantic gives a v2 model
    (`model_fields` alone is no sign: other libraries' classes, and users', have one)."""
    bases = any(
        base.__name__ == "BaseModel" and base.__module__.split(".")[0] == "pydantic"
        for base in cls.__mro__
    )
    return bases or hasattr(cls, "__pydantic_fields__")
