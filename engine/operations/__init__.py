"""The engine's operations: one module per capability, each use case one function.

    lifecycle.py   the one owner of a session's status: transition, create, note
    sessions.py    create, schedule, cancel, complete, make-up
    presence.py    evidence in, intervals out, the start a join triggers
    attendance.py  assess a session, record a report, finalise a session
    charges.py     settle each student's charge, set one by hand
    settings.py    the rule settings a session is judged by

An operation is a plain `async` function of a unit of work, its arguments (or a
frozen command) and `now`; it loads, lets `rules/` decide, and writes through the
repositories of `store/`. It never commits: its caller (an HTTP handler, the page,
the CLI, the sweeper, the webhook endpoint) owns the transaction.
"""
