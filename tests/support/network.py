"""Free ports for the servers the tests start."""
import random
import socket

# Below Linux's ephemeral range (32768-60999 by default). A port the kernel hands out for
# `bind(0)` is also one it hands out as the local end of outgoing connections: between the
# probe and the server's own bind, a Kafka client's connection could take it, and the
# server would fail to start. Ports from this range are never given away like that.
_LOW, _HIGH = 20000, 32000
_given: set[int] = set()


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on and that this test run has not handed out."""
    for _ in range(1000):
        port = random.randint(_LOW, _HIGH)
        if port in _given:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise RuntimeError(f"no free port between {_LOW} and {_HIGH}")
