"""Alert delivery: channels (email, webhook, console, apprise) and the outbox worker.

`base` holds the Channel interface, `render` the pure rendering, one module per channel,
`schedule` the retry/digest/cap arithmetic, `delivery` the worker, `commands` the CLI.
"""
