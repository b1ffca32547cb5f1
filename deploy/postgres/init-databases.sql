-- One database per Haven service: each service owns its schema and its data, and nothing
-- but the service itself reads it (other services go through its API or its events).
--
-- The official postgres image runs this file once, as POSTGRES_USER, when it initialises
-- an empty data volume (docker compose mounts it into /docker-entrypoint-initdb.d).
-- To run it again: `docker compose down --volumes` (this deletes all local data).
--
-- Development only: all three databases are owned by the one development role. In
-- production give each service its own role with rights on its own database only.
CREATE DATABASE haven_directory;
CREATE DATABASE haven_referral;
CREATE DATABASE haven_notify;
