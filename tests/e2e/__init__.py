"""End-to-end tests against a real `python app.py` process."""
