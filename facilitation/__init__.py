"""Samsyn: live workshop facilitation. `assembly.create_app` assembles the layers.

    core/            the rules and the maths: no Flask, Socket.IO or SQLAlchemy
    infrastructure/  configuration, the database and its models, workers, metrics
    queries/         the read side: what screens and exports receive
    usecases/        the write side: the command pipeline, the areas' entry points
    outputs/         exports and reports
    edges/           http/ (pages, API), live/ (Socket.IO), and what both share
    assembly.py      the app made of them all

The package itself imports nothing: a worker process (infrastructure/workers.py) imports
only what its jobs need, not the whole app.
"""
