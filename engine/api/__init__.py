"""The platform and reconciliation API (CONTRACT 5), one small module per resource.

Who may do what. "its academy" means the `academy_id` of the caller's token; any
object of another academy answers 404 as if it did not exist. Each `Route` declares
who may call it at all as data (`rights=only("admin", "teacher")`; the default,
`EVERYONE`, is any valid token; `SERVICE_ONLY` the platform alone), and
`engine.auth.rights_middleware` checks it before the handler runs; the handler's
`authenticate(request)` then hands back the principal already checked. The checks
run in this order:

1. no or bad token: 401 (the middleware);
2. a role outside the route's rights: 403 (the middleware; the service always passes);
3. another academy's object: 404 (the handler, `check_academy` / `visible_session`);
4. within the academy, someone else's session: 403 (the handler, `engine.api.access`).

In the table, `-` is step 2 (a role outside the route's `rights`, which
`/openapi.json` also shows as `x-hudur-roles`); A, own, on and self are steps 3-4.
The teacher's page, `/sessions/{id}/attendance`, takes its token from the header,
its cookie or `?token=` and checks the same rights itself (`rights=None`).

| endpoint                                       | service | admin | teacher | student    |
|------------------------------------------------|---------|-------|---------|------------|
| PUT /v1/academies/{id}                         | all     | A     | -       | -          |
| GET /v1/academies/{id}                         | all     | A     | its     | its        |
| PUT, GET /v1/academies/{id}/rules              | all     | A     | -       | -          |
| PUT /v1/users/{id}                             | all     | A     | -       | -          |
| GET /v1/users/{id}                             | all     | A     | taught  | self       |
| GET /v1/users/{id}/subscriptions               | all     | A     | self    | self       |
| PUT, GET /v1/subscriptions/{id}                | all     | A     | -       | -          |
| POST /v1/sessions                              | all     | A     | -       | -          |
| GET /v1/sessions                               | all     | A     | own     | on         |
| GET /v1/sessions/{id}                          | all     | A     | own     | on         |
| POST /v1/sessions/{id}/schedule, /cancel       | all     | A     | own     | -          |
| POST /v1/sessions/{id}/reschedule              | all     | A     | own     | -          |
| POST /v1/sessions/{id}/complete                | all     | -     | own     | -          |
| POST /v1/sessions/{id}/join-token              | all *   | A *   | own *   | on *       |
| GET /v1/sessions/{id}/attendance               | all     | A     | own     | on **      |
| GET /v1/attendance, /v1/attendance/summary     | all     | A     | own     | self       |
| GET /v1/sessions/{id}/history                  | all     | A     | own     | -          |
| PUT /v1/sessions/{id}/reports/{student_id}     | all     | A     | own     | -          |
| PUT /v1/sessions/{id}/reports                  | all     | A     | own     | -          |
| GET /v1/sessions/{id}/reports[/{student_id}]   | all     | A     | own     | on **      |
| GET /v1/students/{id}/progress                 | all     | A     | taught ‡| self       |
| PUT /v1/sessions/{id}/charges/{student_id}     | all     | A     | -       | -          |
| PUT, GET, DELETE /v1/schedules/{id}            | all     | A     | -       | -          |
| POST /v1/sessions/{id}/makeup                  | all     | A     | own     | -          |
| POST /v1/users/{id}/calendar-token             | all     | A     | self    | self       |
| POST /v1/sweeps                                | all     | -     | -       | -          |
| PUT, GET, DELETE /v1/webhook-endpoints/{id}    | all     | A †   | -       | -          |
| GET /v1/webhook-endpoints/{id}/deliveries      | all     | A †   | -       | -          |
| GET /v1/calendar/{token}.ics                   | the token in the address, nothing else |
| GET /healthz, /readyz, /metrics, /openapi.json | public  |       |         |            |

A: objects of the admin's own academy (for academies and rules: that academy
itself). its: the caller's own academy. own: sessions the teacher teaches
(`teacher_id == sub`). on: sessions the student is on the roster of. self: only for
itself. taught: itself and the students on the roster of any session it teaches
(its pages name them), but not their subscriptions. -: 403. A user of one's own
academy outside self or taught is 403; another academy's user is 404.
* a join token only for the session's teacher or a roster student (else 403), and
a teacher or student only for itself. ** a student sees only its own verdict (and
its own report). ‡ over the teacher's own sessions only.
† an endpoint of every academy (`academy_id` null) is the service's alone: an admin
may not make one (403) nor sees one (404).

A teacher or student filtering `GET /v1/sessions` by another teacher or student
gets 403; everyone but the service is held to its own academy. An admin upserts
users and subscriptions of its own academy only. Nobody moves a user to another
academy, nor a subscription to another student, academy or kind (409). The platform, using
the service token, may name the user it acts for in `cancelled_by` (cancel) and
`reported_by` (reports); a user token may only name itself.
"""
