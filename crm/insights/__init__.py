"""The dashboard's domain: figures, rollups, cohorts, scoring and exports (a Django app, label ``insights``)."""
