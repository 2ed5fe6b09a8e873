"""Notifications and the alert loops around them (issue 7): the adapter side.

The outbox worker sends through Apprise (email, SMS gateways, webhooks and
the rest it supports); the effects listener turns stored episodes into
outbox rows, timers and pursuit commands; the escalation and reminder loops
run on a clock. The decisions (who is told what) are in `ronda.alerts`.
"""
