-- Run once by the postgres image on an empty data directory: the fleet registry and audit store.
CREATE DATABASE yunfleet OWNER airflow;
