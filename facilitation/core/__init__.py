"""The pure core: the rules of a workshop, its ballots, tallies and consensus maths, the
combined picture of a series, the factor library's rules and the payload schemas.

The lowest layer. Imports only the standard library and pydantic: no Flask,
Socket.IO or SQLAlchemy, so every rule and measure is tested directly.
"""
