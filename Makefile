# The two commands a newcomer needs: `make run` and `make test`. Both bring up PostgreSQL when
# nothing answers (scripts/ensure-db.sh).
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Where development secrets and a private database cluster live (git-ignored).
LOCAL := .pg
SECRET_FILE := $(LOCAL)/dev-jwt-secret
BENCH_ARGS ?=
SIM_ARGS ?=
DEMO_ARGS ?=
ROLE ?= buyer
SUB ?= buyer-1

.PHONY: help run demo test check screenshots fmt lint build bench simulate token login-link migrate db clean-test-dbs

help:
	@echo "make run    - start the service with a working database (prints where it listens)"
	@echo "make demo   - fill make run's (empty) database with a demo marketplace; prints who to sign in as"
	@echo "make test   - format check, clippy, and every test against a real PostgreSQL"
	@echo "make bench  - benchmarks beside pgbench on this machine (see docs/benchmarks.md)"
	@echo "make simulate - the four runs of docs/abuse.md (SIM_ARGS=... for one run of your own)"
	@echo "make token ROLE=buyer SUB=buyer-1 - mint a development token for make run's service"
	@echo "make login-link ROLE=buyer SUB=buyer-1 - a console sign-in link (works once, 15 minutes)"

build:
	cargo build --workspace

fmt:
	cargo fmt --all

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

test: lint
	@scripts/ensure-browser.sh
	@admin="$$(scripts/ensure-db.sh)" && \
	  echo "tests use the PostgreSQL server at $${admin%%\?*}" && \
	  DATABASE_URL="$$admin" cargo test --workspace

check: test

# The console's screenshots in docs/console/, taken by its browser tests.
screenshots:
	@scripts/ensure-browser.sh
	@admin="$$(scripts/ensure-db.sh)" && \
	  DATABASE_URL="$$admin" RETURNS_SCREENSHOTS_DIR="$(CURDIR)/docs/console" \
	  cargo test -p returns-tests --test service browser::

db:
	@scripts/ensure-db.sh

$(SECRET_FILE):
	@mkdir -p $(LOCAL)
	@head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > $(SECRET_FILE)
	@echo "made a development JWT secret in $(SECRET_FILE)"

# The service's database: DATABASE_URL when set, otherwise database `returns` on the server
# ensure-db found (the service creates it when missing).
define service_env
admin="$$(scripts/ensure-db.sh)" && \
if [ -n "$${DATABASE_URL:-}" ]; then url="$$DATABASE_URL"; else url="$${admin%/*}/returns"; fi && \
secret="$${RETURNS_JWT_SECRET:-$$(cat $(SECRET_FILE))}"
endef

run: $(SECRET_FILE)
	@cargo build --release -p returns-server --bin returns
	@$(service_env) && \
	  echo "mint tokens with: make token ROLE=buyer SUB=buyer-1 (roles: buyer, seller, operator, platform)" && \
	  echo "sign in to the console (/console) by pasting such a token, or open make login-link ROLE=... SUB=..." && \
	  DATABASE_URL="$$url" RETURNS_JWT_SECRET="$$secret" "$${CARGO_TARGET_DIR:-target}/release/returns" serve

# A demo marketplace in the database `make run` serves (the same secret and database), so that the
# console is full of cases once `make run` starts; prints an operator, a seller and a buyer to sign
# in as, with tokens. It fills only an empty database (see `returns demo --help`).
demo: $(SECRET_FILE)
	@cargo build --release -p returns-server --bin returns
	@$(service_env) && \
	  DATABASE_URL="$$url" RETURNS_JWT_SECRET="$$secret" "$${CARGO_TARGET_DIR:-target}/release/returns" demo $(DEMO_ARGS)

migrate:
	@$(service_env) && DATABASE_URL="$$url" cargo run -q -p returns-server --bin returns -- migrate

token: $(SECRET_FILE)
	@secret="$${RETURNS_JWT_SECRET:-$$(cat $(SECRET_FILE))}" && \
	  RETURNS_JWT_SECRET="$$secret" cargo run -q -p returns-server --bin returns -- token --role $(ROLE) --sub $(SUB)

# A console sign-in link for ROLE and SUB (works once, for 15 minutes).
login-link: $(SECRET_FILE)
	@secret="$${RETURNS_JWT_SECRET:-$$(cat $(SECRET_FILE))}" && \
	  RETURNS_JWT_SECRET="$$secret" cargo run -q -p returns-server --bin returns -- login-link --role $(ROLE) --sub $(SUB)

# The store beside pgbench (crates/bench), then the whole HTTP service under wrk beside pgbench's
# one-row INSERT (scripts/http-bench.sh installs wrk when missing), then the SQL of one command run by
# pgbench alone (scripts/sql-shapes.sh), then the console's pages on the demo marketplace
# (scripts/console-bench.sh); figures in docs/benchmarks.md.
HTTP_BENCH_SECONDS ?= 30
bench:
	@admin="$$(scripts/ensure-db.sh)" && \
	  DATABASE_URL="$$admin" cargo run --release -p returns-bench -- $(BENCH_ARGS) && \
	  cargo build --release -p returns-server --bin returns && \
	  scripts/http-bench.sh --binary "$${CARGO_TARGET_DIR:-target}/release/returns" --admin-url "$$admin" \
	    --seconds $(HTTP_BENCH_SECONDS) --out docs/benchmarks-http-latest.md && \
	  scripts/sql-shapes.sh --binary "$${CARGO_TARGET_DIR:-target}/release/returns" --admin-url "$$admin" \
	    --out docs/benchmarks-sql-shapes-latest.md && \
	  scripts/console-bench.sh --binary "$${CARGO_TARGET_DIR:-target}/release/returns" --admin-url "$$admin" \
	    --seconds 15 --out docs/benchmarks-console-latest.md

# A marketplace with planted abusers, played through the command layer in a scratch database on the
# server ensure-db found; prints how well abuse detection did (see `returns simulate --help`).
# Without SIM_ARGS it plays the four runs docs/abuse.md reports (two sizes, two seeds each).
SIM_RUNS = "--buyers 400 --sellers 40 --seed 42" "--buyers 400 --sellers 40 --seed 7" \
	"--buyers 2000 --sellers 200 --seed 42" "--buyers 2000 --sellers 200 --seed 7"
simulate:
	@admin="$$(scripts/ensure-db.sh)" && \
	  cargo build -q --release -p returns-server --bin returns && \
	  bin="$${CARGO_TARGET_DIR:-target}/release/returns" && \
	  if [ -n "$(SIM_ARGS)" ]; then \
	    DATABASE_URL="$$admin" "$$bin" simulate $(SIM_ARGS); \
	  else \
	    for args in $(SIM_RUNS); do \
	      echo "== returns simulate $$args"; \
	      DATABASE_URL="$$admin" "$$bin" simulate $$args || exit 1; \
	    done; \
	  fi

# Test databases are dropped by the tests themselves; this removes any left by a killed run.
clean-test-dbs:
	@admin="$$(scripts/ensure-db.sh)" && \
	  DATABASE_URL="$$admin" cargo run -q -p returns-testkit --bin returns-clean-test-dbs
