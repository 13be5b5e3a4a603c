"""The engine's operations: one module per capability, each use case one function.

    lifecycle.py   the one owner of a session's status: create, transition, note
    sessions.py    create, schedule, cancel, complete, make-up (slots.py: a teacher's
                   time claimed; people.py: a session's teacher and students checked)
    presence.py    take in a webhook's evidence, repair from ListParticipants
    rebuild.py     presence replayed from the inbox, finished sessions re-decided
    reschedule.py  move a session nobody has joined to another time
    attendance.py  assess a session (its verdicts, computed or as written)
    attendance_report.py  rows across sessions, chunk by chunk; the summary by student
    verdicts.py    finalise a session, re-decide a finished one
    reports.py     record a teacher's report
    charges.py     settle each student's charge, set one by hand
    schedules.py   put, delete and generate recurring schedules
    sweep.py       the sweep's steps: prepare, finish (rooms.py: room operations)
    settings.py    the rule settings a session is judged by

An operation is a plain `async` function of a unit of work, its command (a frozen
dataclass) or plain values, and `now`/`at`; it loads through the repositories of
`store/`, lets `rules/` decide, and writes back through them. It never commits:
its caller (an HTTP handler, the page, the CLI, the sweeper, the webhook endpoint)
owns the transaction.
"""
