# syntax=docker/dockerfile:1
# horn's images, one multi-stage file:
#   docker build --target server     -t horn-server .   # API server: no TensorFlow
#   docker build --target worker     -t horn-worker .   # worker: TensorFlow with CUDA (pip wheels)
#   docker build --target worker-cpu -t horn-worker-cpu .  # worker for machines without GPUs
# Versions are pinned: the base image by tag, Python packages by deploy/constraints.txt.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

# ---- build: the horn wheel (no dependencies) ----
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY client ./client
COPY schemas ./schemas
COPY server ./server
COPY worker ./worker
COPY settings ./settings
COPY cli ./cli
COPY settings ./settings
COPY cli ./cli
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# ---- base: a non-root user and the data directory (volumes inherit its owner) ----
FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HORN_DATA_DIR=/var/lib/horn
RUN groupadd --system --gid 10001 horn \
 && useradd --system --uid 10001 --gid horn --home-dir /var/lib/horn --shell /usr/sbin/nologin horn \
 && install -d -o horn -g horn /var/lib/horn /var/lib/horn/blobs
COPY deploy/constraints.txt /tmp/constraints.txt
WORKDIR /var/lib/horn

# ---- server: FastAPI + SQLAlchemy + Celery (send only); no TensorFlow ----
FROM base AS server
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --constraint /tmp/constraints.txt "$(ls /wheels/horn-*.whl)[server]"
USER horn
EXPOSE 8000
CMD ["horn", "server", "--host", "0.0.0.0", "--port", "8000"]

# ---- worker: Keras on TensorFlow 2.21 with CUDA from NVIDIA's pip wheels ----
# The GPU driver comes from the host (NVIDIA Container Toolkit); nothing else is needed.
FROM base AS worker
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    TF_CPP_MIN_LOG_LEVEL=2 \
    KERAS_BACKEND=tensorflow
RUN pip install --constraint /tmp/constraints.txt "tensorflow[and-cuda]==2.21.0"
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --constraint /tmp/constraints.txt "$(ls /wheels/horn-*.whl)[worker]"
USER horn
EXPOSE 9100
CMD ["horn", "worker", "--gpus", "all"]

# ---- worker-cpu: the same worker without the CUDA libraries ----
FROM base AS worker-cpu
ENV TF_CPP_MIN_LOG_LEVEL=2 \
    KERAS_BACKEND=tensorflow
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --constraint /tmp/constraints.txt "$(ls /wheels/horn-*.whl)[worker]"
USER horn
EXPOSE 9100
CMD ["horn", "worker", "--gpus", "none"]
