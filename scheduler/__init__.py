"""The sweeper: the driving of the sweep, not its decisions.

    tick.py       one sweep: the due pages, one locked transaction per session
    due.py        candidates page by page (`SessionRepository.due_page`)
    rooms.py      the LiveKit RoomService gateway and the room work run to completion
    loop.py       the background loop of `hudur serve`
    recurring.py  sessions generated from recurring schedules
    recovery.py   presence repaired from ListParticipants

The steps are `engine.operations.sweep` and `engine.operations.rooms`; the decisions
`rules.sweep` and `rules.rooms`.
"""
