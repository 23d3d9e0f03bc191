# syntax=docker/dockerfile:1
# The production image: one image for web (gunicorn), worker and beat (celery) and the one-shot migration.
# docker-compose.yml picks the process with `command:`; on its own the image serves the web app on port 8000.

FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# The pinned runtime dependencies first, read from pyproject.toml, so that a code change reuses this layer.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

# Then the project itself: a regular (non-editable) install, without the dev extras.
COPY . .
RUN pip install --no-deps .


FROM python:3.11-slim

# templates/ and static/ sit beside the packages, not inside them (settings.BASE_DIR is the project root), so the
# processes run from the source tree in /app; PYTHONPATH makes it win over the installed copy in site-packages.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=referrals_saas.settings

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app

COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY . .

# The manifest storage (production mode) must find its manifest at run time, so collectstatic runs in production
# mode. These values exist only for this one step; nothing connects to them and none of them is kept in the image.
RUN DJANGO_DEBUG=0 \
    DJANGO_SECRET_KEY=collectstatic-build-step-only \
    DJANGO_ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://build:build@localhost:5432/build \
    REDIS_URL=redis://localhost:6379/0 \
    EMAIL_URL=consolemail:// \
    DEFAULT_FROM_EMAIL=build@localhost \
    SITE_URL=http://localhost \
    python manage.py collectstatic --noinput --verbosity 0

# The code and the collected static files stay owned by root: the app user can read them, not change them.
USER app

EXPOSE 8000

# /dev/shm for the workers' heartbeat files: /tmp on an overlay filesystem can stall them. No control socket: it
# would go to the read-only home directory. WEB_CONCURRENCY sets the number of workers (gunicorn reads it),
# GUNICORN_CMD_ARGS any further option.
CMD ["gunicorn", "referrals_saas.wsgi", "--bind", "0.0.0.0:8000", "--worker-tmp-dir", "/dev/shm", "--no-control-socket", \
     "--access-logfile", "-"]
