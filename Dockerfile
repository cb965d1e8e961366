# One image for every Hydrogen component; the command picks the component
# (`hydrogen topics create`, `hydrogen db migrate`, ...).
FROM python:3.11-slim-bookworm

RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY . .
RUN pip install --no-cache-dir --no-deps -e . \
 && useradd --create-home --uid 10001 hydrogen \
 && mkdir -p contracts/build /deploy \
 && chown -R hydrogen contracts/build /deploy
USER hydrogen

ENTRYPOINT ["hydrogen"]
CMD ["--help"]
