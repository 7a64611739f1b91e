"""The engine: the `Engine` façade over the unit of work (one write transaction per
command), transitions, roles and guards, queries and views, timers and the outbox."""
