"""LiveKit webhooks in (CONTRACT 3): the edge between LiveKit and the engine's presence.

    verify.py    the JWT and the SHA-256 of the raw body (401s)
    envelope.py  raw bytes -> the inbox's columns (id, event, room); 400 only for
                 what is no WebhookEvent at all
    writer.py    the group-committed append of concurrent deliveries
    endpoint.py  POST /webhooks/livekit: verify, read the envelope, append, answer
                 after the commit (413/503 and the rest), logs and counters
    parse.py     raw bytes -> LiveKitEvent, leniently (the projector's full parse)
    derive.py    LiveKitEvent -> the evidence it proves, in the rules' form (pure)
    metrics.py   hudur_webhook_events_total{outcome, reason}, projection lag, latency

What an event derives (evidence, intervals, the start it triggers) and `hudur
rebuild` live in `engine/operations/` (projection.py, presence.py, rebuild.py), which use
parse.py and derive.py to read the inbox. The endpoint reaches the engine only
through those operations; parse, verify and derive do no I/O.
"""
