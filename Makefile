# Everything the project needs is installed from here: a fresh machine needs only python3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PIPELINES_HOME ?= $(CURDIR)/.pipelines

.PHONY: install client run test lint typecheck validate unit clean up down package bench

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==26.3
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	# bqemulator loads DuckDB's spatial extension at start (and avro for Avro load jobs) and
	# cannot download them offline: copy the files shipped by the pinned PyPI packages to
	# where DuckDB looks for them. Copied beside and renamed into place: another checkout's
	# process may have the file mapped, and rewriting it in place crashes that process.
	$(BIN)/python -c "import duckdb, importlib, os, pathlib, shutil; \
	  v = duckdb.__version__; plat = duckdb.sql('PRAGMA platform').fetchone()[0]; \
	  dst = pathlib.Path.home() / '.duckdb' / 'extensions' / f'v{v}' / plat; \
	  dst.mkdir(parents=True, exist_ok=True); \
	  home = lambda n: pathlib.Path(importlib.import_module(f'duckdb_extension_{n}').__file__).parent; \
	  tmp = lambda src: dst / f'{src.name}.{os.getpid()}.tmp'; \
	  [os.replace(shutil.copy2(src, tmp(src)), dst / src.name) for src in \
	    (next(home(n).glob(f'extensions/*/{n}.duckdb_extension')) for n in ('spatial', 'avro'))]"
	touch $(STAMP)

# The product frontend's TypeScript client (tests/client): node and typescript from the npm
# registry, pinned by its package-lock.json.
CLIENT       := tests/client
CLIENT_STAMP := $(CLIENT)/node_modules/.installed

client: $(CLIENT_STAMP)

$(CLIENT_STAMP): $(CLIENT)/package.json $(CLIENT)/package-lock.json
	cd $(CLIENT) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: install
	$(BIN)/pipelines demo

validate: install
	$(BIN)/pipelines validate

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest tests/unit

test: install client validate lint typecheck
	$(BIN)/pytest

# The function topology on the emulators (shared/devtools/stack.py); `make down` stops exactly it.
up: install
	$(BIN)/python -m shared.devtools.stack up

down:
	$(BIN)/python -m shared.devtools.stack down

# One deployable zip per function source under dist/functions/ (terraform uploads them).
package: install
	$(BIN)/python -m shared.devtools.package

# Benchmarks (bench/report.py): one table of every TARGETS.md figure beside its reference
# measured in the same run. `python -m bench --quick` uses 100k rows; each bench/*.py also
# runs alone.
bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pipelines .pytest_cache .mypy_cache .ruff_cache dist
