"""Outgoing notifications (CONTRACT 6): the outbox written with each change
(`outbox`), signed POSTs to the platform (`delivery`, `worker`), the receiver of
`hudur listen` (`listen`)."""
