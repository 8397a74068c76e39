#!/usr/bin/env bash
# build-web.sh — builds the browser UI (web/ -> web/dist/) when its sources
# are newer than the last build; `make build` runs it so `make run` and
# `pika open` have the assets. npm ci runs first when web/node_modules is
# missing or older than package-lock.json (scripts/bootstrap.sh does the same).
set -euo pipefail
cd "$(dirname "$0")/../web"

stamp=node_modules/.pika-lock
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -d node_modules ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  echo "web: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_sum" > "$stamp"
fi

if [ "${1:-}" = "--deps-only" ]; then exit 0; fi

out=dist/index.html
if [ -f "$out" ] && [ -z "$(find src index.html package-lock.json vite.config.ts tsconfig.json -newer "$out" -print -quit)" ]; then
  exit 0 # up to date
fi
echo "web: npm run build"
npm run build --silent
