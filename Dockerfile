# One image for Haven's portal and its three services. The command picks the service:
#   docker run haven:dev serve portal|directory|referral|notify
#   docker run haven:dev migrate | reindex | worker directory|referral|notify
# See deploy/README.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: install Haven and its dependencies into a virtualenv -----------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# Every dependency ships binary wheels for linux/amd64 and arm64 (psycopg[binary],
# cryptography), so no compiler is needed. The virtualenv is copied whole into the
# runtime stage, which keeps the source tree, pip's build backend and its caches out.
RUN python -m venv /opt/haven
WORKDIR /src
# README.md is the package's long description (pyproject.toml `readme`).
COPY pyproject.toml README.md ./
COPY haven ./haven
COPY services ./services
# The `elasticsearch` client must be of the cluster's major version (docker-compose.yml and
# the production overlay run Elasticsearch 8); build with --build-arg ELASTICSEARCH_MAJOR=9
# for a 9.x cluster.
ARG ELASTICSEARCH_MAJOR=8
RUN /opt/haven/bin/pip install --no-cache-dir . "elasticsearch==${ELASTICSEARCH_MAJOR}.*"
# The portal's translation catalogs (.mo, not kept in git) are built into the installed
# package, from outside /src so that the installed copy is the one compiled; the build fails
# on any untranslated string, and the portal refuses to start without them.
WORKDIR /
RUN /opt/haven/bin/python -m services.portal.catalogs

# --- runtime --------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}

# A fixed numeric uid/gid: Kubernetes' runAsNonRoot can only verify a numeric USER, and
# k8s/ runs the pods as this same uid.
ARG HAVEN_UID=10001
RUN groupadd --system --gid ${HAVEN_UID} haven \
 && useradd --system --uid ${HAVEN_UID} --gid haven --home-dir /var/lib/haven \
            --no-create-home --shell /usr/sbin/nologin haven \
 && install -d -o haven -g haven -m 0750 /var/lib/haven \
 && install -d -o haven -g haven -m 0700 /var/lib/haven/auth

COPY --from=build /opt/haven /opt/haven

ENV PATH=/opt/haven/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HAVEN_BIND_HOST=0.0.0.0 \
    HAVEN_DATA_DIR=/var/lib/haven \
    PROMETHEUS_MULTIPROC_DIR=/tmp/haven-metrics

# HAVEN_DATA_DIR holds the embedded SQLite databases when no *_DATABASE_URL is set (mount a
# volume there to keep them) and, in auth/, the embedded token issuer's signing key
# (created above so that a volume mounted there, as docker-compose.yml does, belongs to
# haven). No VOLUME instruction: containers running on PostgreSQL would each get an
# anonymous volume they never use.
WORKDIR /var/lib/haven
USER ${HAVEN_UID}:${HAVEN_UID}

# portal, directory, referral, notify (their default *_PORT).
EXPOSE 8000 8001 8002 8003

# No HEALTHCHECK here: the port depends on which service the container runs. The compose
# file and the Kubernetes manifests each probe /healthz and /readyz on the right port.

# gunicorn's master runs as PID 1 and handles SIGTERM itself (graceful stop).
ENTRYPOINT ["haven"]
CMD ["serve", "directory"]
