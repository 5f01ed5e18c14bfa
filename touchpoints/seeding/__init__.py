"""The journey part of the demo data (``manage.py seed_demo``): touchpoints, transitions, journeys."""
