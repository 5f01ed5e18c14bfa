"""What an operator watches: the Prometheus scrape (``/metrics``), one JSON log line a request, Sentry."""
