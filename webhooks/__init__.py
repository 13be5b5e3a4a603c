"""LiveKit webhook intake (CONTRACT 3).

    verify.py    the JWT and the SHA-256 of the raw body (401s)
    parse.py     raw bytes -> LiveKitEvent, leniently (400s)
    derive.py    LiveKitEvent -> the evidence row it proves (pure)
    intake.py    inbox + evidence + intervals + start trigger, in the caller's unit of work
    endpoint.py  POST /webhooks/livekit: the order of checks, 413/503, logs and counters
    rebuild.py   `hudur rebuild`: the derived evidence made again from the inbox
    metrics.py   hudur_webhook_events_total{outcome, reason}

Depends on `store` and `rules`; the engine wires it, never the other way round.
"""
