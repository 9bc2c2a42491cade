"""The event log for more than one machine: accepted batches go to a NATS JetStream stream (durable,
replicated, clustered) instead of a process's local spool, and ingest processes share them through one
durable pull consumer. Kept behind ``EventSink`` (publishing) and the consumer loop (``consumer``), so
another log (Kafka) can follow as another adapter. Imports nothing heavy: the api role loads it."""
