from __future__ import annotations

import pytest

from ronda.config import Settings
from ronda.errors import InvalidInput


def test_engine_thresholds_come_from_the_environment() -> None:
    s = Settings.from_env({"RONDA_ENGINE_OPEN_FIXES": "4", "RONDA_ENGINE_MARGIN_M": "22.5"})
    assert s.engine.open_fixes == 4 and s.engine.margin_m == 22.5
    assert s.effective_database_url.startswith("sqlite:///")


def test_bad_number_names_the_variable() -> None:
    with pytest.raises(InvalidInput, match="RONDA_ENGINE_OPEN_FIXES"):
        Settings.from_env({"RONDA_ENGINE_OPEN_FIXES": "many"})


def test_a_bad_setting_reads_in_the_readers_language() -> None:
    from ronda.i18n.errors import error_message, error_text

    with pytest.raises(InvalidInput) as info:
        Settings.from_env({"RONDA_ENGINE_OPEN_FIXES": "many"})
    err = info.value
    assert str(err) == "field 'RONDA_ENGINE_OPEN_FIXES': not a whole number: 'many'"
    assert error_message(err, "es") == "no es un número entero: 'many'"
    assert error_text(err, "pt").endswith("não é um número inteiro: 'many'")
