# The app (channels, action webhook, knowledge base, staff console); never `rasa` in this image.
FROM python:3.11-slim
WORKDIR /srv/taxbot
COPY pyproject.toml README.md ./
COPY taxbot taxbot
COPY actions actions
COPY channels channels
COPY index index
COPY knowledge_base knowledge_base
COPY bot bot
COPY config.yml ./
RUN pip install --no-cache-dir . && useradd --system taxbot && mkdir -p var && chown taxbot var
USER taxbot
