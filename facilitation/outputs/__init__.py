"""The outputs: a workshop's or a series' record as CSV, JSON, an Excel workbook and PDF
reports. The record in, bytes out.

Above the read side, beside the use cases and independent of them. May import the core and the
read side; never the database, Flask or Socket.IO.
"""
