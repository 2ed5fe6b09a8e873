"""Request validation errors (pydantic's) in the reader's language.

Pydantic writes its messages in English only; each carries a stable `type`
and its context (`ctx`: the limit, the pattern ...). The common types have a
template here, translated like every other message; a rarer one keeps
pydantic's English text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ronda.i18n.catalog import N_, gettext

TEMPLATES: dict[str, str] = {
    "missing": N_("required"),
    "extra_forbidden": N_("not a field Ronda knows"),
    "string_type": N_("expected text"),
    "string_too_short": N_("at least {min_length} characters"),
    "string_too_long": N_("at most {max_length} characters"),
    "string_pattern_mismatch": N_("does not match the expected form {pattern}"),
    "int_type": N_("expected a whole number"),
    "int_parsing": N_("expected a whole number"),
    "int_from_float": N_("expected a whole number"),
    "float_type": N_("expected a number"),
    "float_parsing": N_("expected a number"),
    "bool_type": N_("expected true or false"),
    "bool_parsing": N_("expected true or false"),
    "greater_than": N_("must be greater than {gt}"),
    "greater_than_equal": N_("must be at least {ge}"),
    "less_than": N_("must be less than {lt}"),
    "less_than_equal": N_("must be at most {le}"),
    "finite_number": N_("expected a finite number"),
    "enum": N_("expected {expected}"),
    "literal_error": N_("expected {expected}"),
    "list_type": N_("expected a list"),
    "too_short": N_("at least {min_length} items"),
    "too_long": N_("at most {max_length} items"),
    "dict_type": N_("expected an object"),
    "model_type": N_("expected an object"),
    "model_attributes_type": N_("expected an object"),
    "json_invalid": N_("not valid JSON"),
    "json_type": N_("not valid JSON"),
    "datetime_parsing": N_("expected a date and time (ISO 8601)"),
    "datetime_from_date_parsing": N_("expected a date and time (ISO 8601)"),
    "date_parsing": N_("expected a date (YYYY-MM-DD)"),
    "date_from_datetime_parsing": N_("expected a date (YYYY-MM-DD)"),
    "uuid_parsing": N_("expected a UUID"),
}


def validation_message(error: Mapping[str, Any], language: str | None) -> str:
    """One pydantic error (an item of `ValidationError.errors()`) in `language`."""
    template = TEMPLATES.get(str(error.get("type", "")))
    if template is None:
        return str(error.get("msg", ""))
    context = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    if "expected" in context:  # pydantic's "'a', 'b' or 'c'": the "or" in the reader's language
        choices, sep, last = context["expected"].rpartition(" or ")
        if sep:
            context["expected"] = gettext(language, N_("{choices} or {last}"), choices=choices, last=last)
    try:
        return gettext(language, template, **context)
    except (KeyError, IndexError, ValueError):
        return str(error.get("msg", ""))
