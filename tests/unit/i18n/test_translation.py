"""Lookup, language choice and locale formatting as readers meet them."""

from __future__ import annotations

import pytest

from ronda.i18n import (
    format_distance,
    format_duration,
    format_instant,
    format_number,
    gettext,
    messages_for,
    negotiate,
    normalize,
    translator,
)
from ronda.i18n.vocabulary import LABELS, label

# 2026-07-01 12:00:00 UTC
NOON_UTC = 1782907200.0


def test_domain_words_in_each_language() -> None:
    assert label("rule", "curfew", "es") == "Toque de queda"
    assert label("rule", "curfew", "pt") == "Recolher obrigatório"
    assert label("rule", "exclusion", "pt-BR") == "Zona de exclusão"
    assert label("rule", "exclusion", "en") == "Exclusion zone"
    assert label("rule", "unheard_of", "es") == "unheard_of"


def test_every_vocabulary_code_has_a_spanish_and_portuguese_word() -> None:
    for kind, codes in LABELS.items():
        for code, msgid in codes.items():
            for language in ("es", "pt"):
                same_word = msgid in {"Supervisor", "Auditor"}  # the same word in all three
                assert label(kind, code, language) != msgid or same_word, (kind, code)


@pytest.mark.parametrize(
    ("asked", "got"),
    [("pt-BR", "pt"), ("es_CL", "es"), ("EN", "en"), ("fr", "en"), (None, "en"), ("", "en")],
)
def test_normalize(asked: str | None, got: str) -> None:
    assert normalize(asked) == got


def test_negotiate_accept_language() -> None:
    assert negotiate("pt-BR,pt;q=0.9,en;q=0.8") == "pt"
    assert negotiate("fr-FR, es;q=0.5, en;q=0.4") == "es"
    assert negotiate("de, fr") == "en"
    assert negotiate("de", default="es") == "es"
    assert negotiate("en;q=0.1, es;q=0.9") == "es"


def test_translator_and_missing_message_falls_back_to_source() -> None:
    t = translator("es")
    assert t("Critical") == "Crítica"
    assert gettext("pt", "a string nobody translated") == "a string nobody translated"


def test_messages_for_the_web_app() -> None:
    es = messages_for("es")
    assert es["Curfew"] == "Toque de queda"
    assert "" not in es


def test_instants_are_local_to_the_order_with_the_zone_named() -> None:
    # Santiago is UTC-4 in July (winter), Lisbon UTC+1 (summer).
    assert format_instant(NOON_UTC, "America/Santiago", "es") == "1 jul 2026 8:00 (America/Santiago)"
    # Portuguese as written in Portugal (pt_PT), like the translations
    assert format_instant(NOON_UTC, "Europe/Lisbon", "pt") == "01/07/2026 13:00 (Europe/Lisbon)"
    assert format_instant(NOON_UTC, "America/Chicago", "en", seconds=True).startswith("Jul 1, 2026 7:00:00")


def test_numbers_distances_durations() -> None:
    assert format_number(12345.6, "es", digits=1) == "12.345,6"
    assert format_number(12345.6, "en", digits=1) == "12,345.6"
    assert format_number(12345.6, "pt", digits=1) == "12\u00a0345,6"  # pt_PT: a space groups
    assert format_distance(85.4, "pt") == "85 m"
    assert format_distance(1234, "es") == "1,2 km"
    assert format_distance(1234, "en") == "1.2 km"
    assert format_duration(250, "es") == "4 minutos"
    assert format_duration(250, "en") == "4 minutes"


def test_the_command_line_speaks_the_operators_language() -> None:
    from ronda.cli.words import cli_language

    assert cli_language({"RONDA_LANGUAGE": "pt-PT", "LANG": "es_CL.UTF-8"}) == "pt"
    assert cli_language({"LANG": "es_CL.UTF-8"}) == "es"
    assert cli_language({"LC_ALL": "C", "LANG": "pt_PT.UTF-8"}) == "en"  # LC_ALL wins, as in POSIX
    assert cli_language({"LC_MESSAGES": "pt_BR.UTF-8@euro"}) == "pt"
    assert cli_language({"LANG": "fr_FR.UTF-8"}) == "en"
    assert cli_language({}) == "en"


def test_a_user_who_chose_no_language_gets_the_agencys_then_the_browsers() -> None:
    from ronda.i18n.catalog import choose_language

    assert choose_language("pt", "es", "en-US") == ("pt", "user")
    assert choose_language("auto", "es", "pt-BR") == ("es", "agency")
    assert choose_language("", None, "de-DE, pt;q=0.8") == ("pt", "browser")
    assert choose_language("fr", None, "de") == ("en", "default")
    assert choose_language(None, None, "es;q=0, en;q=0.5") == ("en", "browser")


def test_protocol_steps_have_the_words_the_alert_policy_gives_them() -> None:
    from ronda.alerts.policy import STEP_LABELS, StepOutcome

    assert LABELS["protocol_step"] == STEP_LABELS
    assert set(LABELS["step_outcome"]) == set(StepOutcome.ALL)
    assert label("protocol_step", "dispatch_police", "es") == "Enviar a la policía"
    assert label("protocol_step", "call_victim", "pt") == "Telefonar à pessoa protegida"


def test_court_report_dates_the_readers_way_with_the_zone() -> None:
    from zoneinfo import ZoneInfo

    from ronda.i18n.formatting import format_wall_clock

    lisbon = ZoneInfo("Europe/Lisbon")
    assert format_wall_clock(NOON_UTC, lisbon, "en") == "2026-07-01 13:00:00 WEST"
    assert format_wall_clock(NOON_UTC, lisbon, "es") == "1 jul 2026 13:00:00 WEST"
    assert format_wall_clock(NOON_UTC, lisbon, "pt", seconds=False) == "01/07/2026 13:00 WEST"
    assert format_wall_clock(NOON_UTC, ZoneInfo("America/Santiago"), "es").endswith("8:00:00 UTC-04:00")
