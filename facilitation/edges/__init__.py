"""The edges: where people and programs reach Samsyn. HTTP pages and the JSON API (http/),
the live Socket.IO side (live/: handlers, presence, broadcasting, the cluster), the command
line, and what they share (who the browser is, languages, rate limits, the request guard).

The highest layer. Edges parse, call one use case or query, and answer; they never
reach into the database themselves.
"""
