"""The only door between the chain and Kafka: log ingest and transaction submission."""
