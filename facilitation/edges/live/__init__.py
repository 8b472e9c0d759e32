"""The live side: Socket.IO, for the workshops' screens and the public follow pages.

Layer: edge (live); never imports the HTTP side (edges/http). Where things are:

    server.py     the live side in one place: the namespaces, built and started by create_app
    realtime.py   the workshops' namespace '/': connect, state.get, one handler per command
    follow.py     the follow pages' namespace '/follow'
    presence.py   who is connected where, and the rooms
    rooms.py      Socket.IO's rooms indexed both ways (a departure costs its own rooms)
    ticker.py     the one background task for what runs periodically
    broadcast.py  the coalesced broadcasts to boards, consoles and phones (a tick)
    followers.py  who follows which series, and what they are sent (a tick)
    access.py     facilitator screens whose access ended are let go (word, and a tick)
    cluster.py    several processes as one room (presence shared through Redis, word)
    parts.py      what the handlers reach: `samsyn()`
"""
