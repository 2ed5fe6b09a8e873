"""Inside the prison: the facility model, reader sightings, where each band
is, the rules of the regime, keep-separate, and the virtual headcount.

A domain package like `engine`: pure and deterministic, fed records with
`feed` and moved on with `advance(now_s)`; no framework, database or setting.
"""
