"""The domain's own words, once: what every screen, message and report calls
a rule type, an episode, an alert status or an outcome. Values are the stable
codes used in the API and storage; labels are English msgids translated by
the catalogs (es: *toque de queda*, *zona de exclusión*; pt: *recolher
obrigatório*, *zona de exclusão*)."""

from __future__ import annotations

from ronda.i18n.catalog import N_, gettext

LABELS: dict[str, dict[str, str]] = {
    "rule": {
        "exclusion": N_("Exclusion zone"),
        "inclusion": N_("Inclusion zone"),
        "curfew": N_("Curfew"),
        "proximity": N_("Victim proximity"),
    },
    "episode": {
        "exclusion": N_("Entered an exclusion zone"),
        "inclusion": N_("Left an inclusion zone"),
        "curfew": N_("Curfew violation"),
        "proximity": N_("Approached the protected person"),
        "tamper": N_("Device tampered with"),
        "low_battery": N_("Low battery"),
        "comms_loss": N_("No signal"),
        "no_fix": N_("No location fix"),
    },
    "event": {
        "strap_tamper": N_("Strap tampered with"),
        "strap_restored": N_("Strap restored"),
        "tag_present": N_("Tag at home"),
        "tag_absent": N_("Tag away from home"),
        "heartbeat": N_("Heartbeat"),
        "sos": N_("SOS button"),
        "low_battery": N_("Low battery"),
        "power_cut": N_("Home unit power cut"),
        "power_restored": N_("Home unit power restored"),
        "duress": N_("Duress button"),
    },
    "status": {
        "new": N_("New"),
        "acknowledged": N_("Acknowledged"),
        "assigned": N_("Assigned"),
        "escalated": N_("Escalated"),
        "resolved": N_("Resolved"),
    },
    "severity": {
        "critical": N_("Critical"),
        "high": N_("High"),
        "medium": N_("Medium"),
        "low": N_("Low"),
    },
    "action": {
        "acknowledge": N_("Acknowledged"),
        "assign": N_("Assigned"),
        "escalate": N_("Escalated"),
        "note": N_("Note"),
        "step": N_("Protocol step"),
        "resolve": N_("Resolved"),
        "reopen": N_("Reopened"),
    },
    "outcome": {
        "violation_confirmed": N_("Violation confirmed"),
        "false_alarm": N_("False alarm"),
        "technical_issue": N_("Technical issue"),
        "authorised": N_("Authorised absence"),
        "other": N_("Other"),
    },
    # The web app's words in running text (lower case: "exclusion episode",
    # "alert #7 resolved (false alarm)"), beside the headings' words above.
    "alert_type": {
        "exclusion": N_("exclusion"),
        "inclusion": N_("inclusion"),
        "curfew": N_("curfew"),
        "proximity": N_("proximity"),
        "tamper": N_("tamper"),
        "low_battery": N_("low battery"),
        "comms_loss": N_("comms loss"),
        "no_fix": N_("no fix"),
    },
    "alert_status": {
        "new": N_("new"),
        "acknowledged": N_("acknowledged"),
        "assigned": N_("assigned"),
        "escalated": N_("escalated"),
        "resolved": N_("resolved"),
    },
    "alert_severity": {
        "critical": N_("critical"),
        "high": N_("high"),
        "medium": N_("medium"),
        "low": N_("low"),
    },
    "alert_outcome": {
        "violation_confirmed": N_("violation confirmed"),
        "false_alarm": N_("false alarm"),
        "technical_issue": N_("technical issue"),
        "authorised": N_("authorised"),
        "other": N_("other"),
    },
    "device": {
        "gps_tag": N_("GPS tag"),
        "home_unit": N_("Home unit"),
        "phone": N_("Phone"),
        "wristband": N_("Wristband"),
    },
    "device_status": {
        "in_stock": N_("in stock"),
        "active": N_("active"),
        "faulty": N_("faulty"),
        "retired": N_("retired"),
    },
    # Operator protocols (ronda.alerts.policy.STEP_LABELS and StepOutcome).
    "protocol_step": {
        "call_wearer": N_("Call the wearer"),
        "call_victim": N_("Call the protected person"),
        "dispatch_police": N_("Dispatch the police"),
        "notify_officer": N_("Notify the supervising officer"),
        "check_device": N_("Check the device's last report"),
    },
    "step_outcome": {
        "done": N_("done"),
        "no_answer": N_("no answer"),
        "unreachable": N_("unreachable"),
        "declined": N_("declined"),
        "not_applicable": N_("not applicable"),
    },
    # Prisons (ronda.facility): alerts, headcounts, zones.
    "prison_alert": {
        "keep_separate": N_("keep-separate breach"),
        "out_of_bounds": N_("out of bounds"),
        "no_sighting": N_("not seen"),
        "band_tamper": N_("band tampered with"),
        "band_removed": N_("band removed"),
        "duress": N_("duress"),
        "reader_offline": N_("reader offline"),
        "feed_loss": N_("feed lost"),
    },
    "headcount_kind": {"scheduled": N_("scheduled"), "on_demand": N_("on demand")},
    "headcount_status": {
        "exact": N_("exact"),
        "open": N_("open"),
        "reconciled": N_("reconciled"),
        "counted": N_("counted"),
        "in_transit": N_("in transit"),
        "out_of_place": N_("out of place"),
        "unverified": N_("unverified"),
        "missing": N_("missing"),
    },
    "resolution": {
        "found": N_("found"),
        "in_medical": N_("in medical"),
        "at_court": N_("at court"),
        "at_hospital": N_("at hospital"),
        "visit": N_("visit"),
        "transferred": N_("transferred"),
        "released": N_("released"),
        "band_fault": N_("band fault"),
        "escalated": N_("escalated"),
        "other": N_("other"),
    },
    "zone_kind": {
        "cell": N_("cell"),
        "wing": N_("wing"),
        "corridor": N_("corridor"),
        "yard": N_("yard"),
        "workshop": N_("workshop"),
        "medical": N_("medical"),
        "visits": N_("visits"),
        "dining": N_("dining"),
        "education": N_("education"),
        "office": N_("office"),
        "gate": N_("gate"),
        "other": N_("other"),
    },
    # Compliance and investigation (ronda.compliance, ronda.correlation).
    "trend": {
        "improving": N_("improving"),
        "stable": N_("stable"),
        "worsening": N_("worsening"),
        "not_enough_history": N_("not enough history"),
    },
    "step_down_status": {
        "accepted": N_("accepted"),
        "waiting_for_previous": N_("waiting for the previous step"),
        "counting": N_("counting"),
        "blocked_pending": N_("blocked by a pending alert"),
        "due": N_("due"),
    },
    "decision": {"accepted": N_("accepted"), "rejected": N_("rejected")},
    "correlation_method": {"fix": N_("fix"), "interpolated": N_("interpolated")},
    "confidence": {"high": N_("high"), "medium": N_("medium"), "low": N_("low")},
    "role": {
        "admin": N_("Administrator"),
        "supervisor": N_("Supervisor"),
        "operator": N_("Operator"),
        "officer": N_("Probation officer"),
        "auditor": N_("Auditor"),
        "monitored": N_("Monitored person"),
        "protected": N_("Protected person"),
    },
}


def label(kind: str, code: str, language: str | None) -> str:
    """The reader's word for a code (`label("rule", "curfew", "pt")` →
    `Recolher obrigatório`); an unknown code is shown as it is."""
    msgid = LABELS.get(kind, {}).get(code)
    return gettext(language, msgid) if msgid else code
