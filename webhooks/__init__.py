"""LiveKit webhooks in (CONTRACT 3): the edge between LiveKit and the engine's presence.

    verify.py    the JWT and the SHA-256 of the raw body (401s)
    parse.py     raw bytes -> LiveKitEvent, leniently (400s)
    derive.py    LiveKitEvent -> the evidence it proves, in the rules' form (pure)
    endpoint.py  POST /webhooks/livekit: verify, parse, `presence.take_in`, commit,
                 answer (413/503 and the rest), logs and counters
    metrics.py   hudur_webhook_events_total{outcome, reason}

What an event writes (inbox, evidence, intervals, the start it triggers) and
`hudur rebuild` live in `engine/operations/` (presence.py, rebuild.py), which use
parse.py and derive.py to read the inbox. The endpoint reaches the engine only
through those operations; parse, verify and derive do no I/O.
"""
