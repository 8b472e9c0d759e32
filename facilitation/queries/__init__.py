"""The read side: what each screen and export is shown, read from the database.

Above the infrastructure. May import the core and the infrastructure; never the write side
(usecases), the outputs or the edges.
"""
