"""A local network of real services: Apache Kafka, PostgreSQL, anvil and object storage."""
