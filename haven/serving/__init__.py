"""How Haven serves HTTP: gunicorn with a worker that reads each request before it takes
a thread.

gunicorn's own threaded worker hands a connection to an application thread as soon as the
first byte arrives, so a client that sends its headers one byte at a time (or never
finishes them) holds one of a worker's few threads for as long as it likes. `HavenWorker`
(worker.py) reads the request head, and a body of up to `PRE_READ_BODY_BYTES`, in the
worker's event loop instead, under a header and a body timeout and a size cap
(request_head.py), and only then hands the buffered bytes to a thread. Errors the server
itself answers (request line too long, headers too large, malformed) are problem+json and
are logged without the request line (problems.py).
"""
